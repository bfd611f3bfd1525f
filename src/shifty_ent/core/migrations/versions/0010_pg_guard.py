"""pg_guard: PostgreSQL enforces the CLI's rules a second time, for each person's own role

Revision ID: 0010_pg_guard
Revises: 0003_gpu, 0004_arcade, 0006_report, 0007_model_listing, 0008_identity
Create Date: 2026-12-03

PostgreSQL only (SQLite: nothing to do). In a store whose identity mode is ``postgres`` every
person logs in with their own role, a member of the NOLOGIN group ``shifty_person``; this
migration makes the database refuse, to a raw ``psql`` session of such a role, what the CLI would
refuse:

- privileges: ``shifty_person`` may read and write the tables the CLI writes, but never TRUNCATE;
  ``audit_events`` is SELECT/INSERT only (append-only), ``audit_heads`` SELECT/INSERT/UPDATE,
  ``installation``/``alembic_version`` read-only, ``signing_keys`` SELECT/INSERT, deletion jobs,
  items and certificates are never deleted;
- row-level security, ENABLEd and FORCEd, on every table with a ``tenant_id`` column (and on
  ``tenants`` and ``audit_heads``): a row is visible and writable when its tenant is one where the
  connection's ``session_user`` is an active member; installation administrators see every tenant
  but write only where they are members (or where a later migration's policy lets them);
- triggers: an audit event's ``actor`` must be the ``session_user``; a deletion job is requested
  by the ``session_user`` and approved once, by another active admin of its tenant who is the
  ``session_user``; members and roles change only by the tenant's active admins (or its creator's
  first admin row) and never leave a tenant without an admin (serialised on the tenant row);
  tenant settings change only by its admins or an installation administrator; installation
  administrators are added or removed only by one.

Every check is a no-op in ``declared`` stores, before a store records its mode, for superusers
and ``BYPASSRLS`` roles, and for the role that ran this migration (it owns the schema).

Names are compared by ``shifty_name_key(text)``: NFKC, ICU root lower case (``und-x-icu`` where the
server has ICU, else the database's own ``lower``), then ``ς`` -> ``σ`` and ``ß`` -> ``ss``. It
agrees with Python's ``unicodedata.normalize("NFKC", s).casefold()`` (``identity.name_key``) for
ASCII, full-width forms, German and Greek; the triggers refuse a user row whose client-side key
differs from it, so a name the two cannot fold alike is refused, never half-enforced.

Later migrations that add tenant-owned tables call ``SELECT shifty_apply_tenant_rls()`` at their
end (PostgreSQL only): it is re-runnable, and (re)grants privileges and (re)creates the
per-tenant policies on every table of the schema that has a ``tenant_id`` column.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0010_pg_guard"
down_revision: str | Sequence[str] | None = (
    "0003_gpu",
    "0004_arcade",
    "0006_report",
    "0007_model_listing",
    "0009_tenant_roots",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSON = "shifty_person"

ROLE_SQL = """
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'shifty_person') THEN
    CREATE ROLE shifty_person NOLOGIN;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently for another store
  WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'migration 0010_pg_guard needs the group role shifty_person'
      USING HINT = 'run as a role with CREATEROLE, or have a DBA run: CREATE ROLE shifty_person '
                   'NOLOGIN; then run shifty-ent db upgrade again';
END
$do$
"""

# __S__: the schema as an identifier, __SL__: as a literal, __OWNER__: the migrating role as a
# literal, __COLLATE__: the collation name_key folds case in (may be empty)
FUNCTIONS_SQL = r"""
CREATE OR REPLACE FUNCTION __S__.shifty_name_key(raw text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT replace(translate(lower(normalize(raw, NFKC) __COLLATE__), 'ς', 'σ'), 'ß', 'ss') $$;

-- the schema owner's own definer functions read FORCEd tables: policies let it through
CREATE OR REPLACE FUNCTION __S__.shifty_guard_owner() RETURNS name
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT __OWNER__::name $$;

CREATE OR REPLACE FUNCTION __S__.shifty_guard_enforced() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$ SELECT coalesce((SELECT identity_mode = 'postgres' FROM installation WHERE id = 1), false) $$;

-- sessions the triggers leave alone: they can switch RLS and triggers off anyway
CREATE OR REPLACE FUNCTION __S__.shifty_session_exempt() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT session_user = shifty_guard_owner()
      OR coalesce((SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = session_user),
                  false)
$$;

CREATE OR REPLACE FUNCTION __S__.shifty_my_key() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, __S__, pg_temp
AS $$ SELECT shifty_name_key(session_user::text) $$;

CREATE OR REPLACE FUNCTION __S__.shifty_my_tenants() RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT coalesce(array_agg(DISTINCT tenant_id), '{}'::uuid[]) FROM tenant_users
   WHERE username_key = shifty_my_key() AND removed_at IS NULL
$$;

CREATE OR REPLACE FUNCTION __S__.shifty_is_installation_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$ SELECT EXISTS (SELECT 1 FROM installation_admins WHERE name_key = shifty_my_key()) $$;

-- VOLATILE: called after the tenant row lock, it must see what committed while we waited
CREATE OR REPLACE FUNCTION __S__.shifty_is_tenant_admin(tid uuid, who text) RETURNS boolean
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT EXISTS (
    SELECT 1 FROM user_roles r
      JOIN tenant_users u ON u.id = r.user_id AND u.tenant_id = r.tenant_id
     WHERE r.tenant_id = tid AND r.role = 'admin' AND u.removed_at IS NULL
       AND u.username_key = who)
$$;

CREATE OR REPLACE FUNCTION __S__.shifty_admins_besides(tid uuid, leaving uuid) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT count(DISTINCT u.id) FROM user_roles r
    JOIN tenant_users u ON u.id = r.user_id AND u.tenant_id = r.tenant_id
   WHERE r.tenant_id = tid AND r.role = 'admin' AND u.removed_at IS NULL AND u.id <> leaving
$$;

-- a tenant this session created and nobody has joined yet: its creator may join it as admin
CREATE OR REPLACE FUNCTION __S__.shifty_tenant_claimable(tid uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT EXISTS (SELECT 1 FROM tenants t
                  WHERE t.id = tid AND shifty_name_key(t.created_by) = shifty_my_key())
     AND NOT EXISTS (SELECT 1 FROM tenant_users u WHERE u.tenant_id = tid)
$$;

CREATE OR REPLACE FUNCTION __S__.shifty_apply_tenant_rls() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, __S__, pg_temp
AS $fn$
DECLARE
  t record;
  n integer := 0;
  -- tenant_id IS NULL: the installation's own audit chain (elsewhere tenant_id is NOT NULL)
  member text := '(current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced()) '
                 'OR tenant_id = ANY ((SELECT shifty_my_tenants())::uuid[]) '
                 'OR tenant_id IS NULL)';
  overview text := '(tenant_id IS NULL OR (SELECT shifty_is_installation_admin()))';
  privs text;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO shifty_person', __SL__);
  FOR t IN
    SELECT c.relname,
           EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             AS tenant_owned
      FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
     WHERE ns.nspname = __SL__ AND c.relkind IN ('r', 'p')
  LOOP
    privs := CASE
      WHEN t.relname = 'audit_events' THEN 'SELECT, INSERT'
      WHEN t.relname IN ('deletion_jobs', 'deletion_items', 'deletion_certificates')
        THEN 'SELECT, INSERT, UPDATE'
      WHEN t.tenant_owned THEN 'SELECT, INSERT, UPDATE, DELETE'
      WHEN t.relname IN ('tenants', 'audit_heads') THEN 'SELECT, INSERT, UPDATE'
      -- UPDATE only so that 'admin remove' may lock the rows (SELECT ... FOR UPDATE)
      WHEN t.relname = 'installation_admins' THEN 'SELECT, INSERT, UPDATE, DELETE'
      WHEN t.relname = 'signing_keys' THEN 'SELECT, INSERT'
      -- every local registration records (upserts) the host its file lives on
      WHEN t.relname = 'hosts' THEN 'SELECT, INSERT, UPDATE'
      ELSE 'SELECT'
    END;
    EXECUTE format('REVOKE ALL ON %I.%I FROM shifty_person', __SL__, t.relname);
    EXECUTE format('GRANT %s ON %I.%I TO shifty_person', privs, __SL__, t.relname);
    IF t.tenant_owned THEN
      EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', __SL__, t.relname);
      EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', __SL__, t.relname);
      EXECUTE format('DROP POLICY IF EXISTS shifty_member ON %I.%I', __SL__, t.relname);
      EXECUTE format('CREATE POLICY shifty_member ON %I.%I FOR ALL USING %s WITH CHECK %s',
                     __SL__, t.relname, member, member);
      EXECUTE format('DROP POLICY IF EXISTS shifty_overview ON %I.%I', __SL__, t.relname);
      EXECUTE format('CREATE POLICY shifty_overview ON %I.%I FOR SELECT USING %s',
                     __SL__, t.relname, overview);
      n := n + 1;
    END IF;
  END LOOP;
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO shifty_person', __SL__);
  RETURN n;
END
$fn$;
REVOKE ALL ON FUNCTION __S__.shifty_apply_tenant_rls() FROM PUBLIC;
"""

POLICIES_SQL = r"""
ALTER TABLE __S__.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE __S__.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY shifty_tenant_read ON __S__.tenants FOR SELECT USING (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR id = ANY ((SELECT shifty_my_tenants())::uuid[]) OR (SELECT shifty_is_installation_admin())
  OR shifty_tenant_claimable(id));
CREATE POLICY shifty_tenant_create ON __S__.tenants FOR INSERT WITH CHECK (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR shifty_name_key(created_by) = shifty_my_key());
-- members lock the row (budgets, membership); the trigger decides who may change it
CREATE POLICY shifty_tenant_update ON __S__.tenants FOR UPDATE USING (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR id = ANY ((SELECT shifty_my_tenants())::uuid[]) OR (SELECT shifty_is_installation_admin()));

CREATE POLICY shifty_claim ON __S__.tenant_users FOR INSERT
  WITH CHECK (shifty_tenant_claimable(tenant_id));

ALTER TABLE __S__.audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE __S__.audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY shifty_chain ON __S__.audit_heads FOR ALL USING (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR chain = '_system' OR chain = ANY ((SELECT shifty_my_tenants())::text[]));
CREATE POLICY shifty_chain_overview ON __S__.audit_heads FOR SELECT
  USING ((SELECT shifty_is_installation_admin()));

-- data roots are assigned by installation administrators, to any tenant, and recorded in that
-- tenant's chain; members may read their tenant's roots but never change them
CREATE POLICY shifty_roots_admin ON __S__.data_roots FOR ALL
  USING ((SELECT shifty_is_installation_admin()))
  WITH CHECK ((SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_roots_writers ON __S__.data_roots AS RESTRICTIVE FOR INSERT WITH CHECK (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR (SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_roots_changers ON __S__.data_roots AS RESTRICTIVE FOR UPDATE USING (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR (SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_roots_removers ON __S__.data_roots AS RESTRICTIVE FOR DELETE USING (
  current_user = shifty_guard_owner() OR NOT (SELECT shifty_guard_enforced())
  OR (SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_admin_audit ON __S__.audit_events FOR INSERT
  WITH CHECK ((SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_admin_chain ON __S__.audit_heads FOR ALL
  USING ((SELECT shifty_is_installation_admin()))
  WITH CHECK ((SELECT shifty_is_installation_admin()));

ALTER TABLE __S__.installation_admins ENABLE ROW LEVEL SECURITY;
CREATE POLICY shifty_admins_read ON __S__.installation_admins FOR SELECT USING (true);
CREATE POLICY shifty_admins_add ON __S__.installation_admins FOR INSERT WITH CHECK (
  NOT (SELECT shifty_guard_enforced()) OR (SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_admins_lock ON __S__.installation_admins FOR UPDATE USING (
  NOT (SELECT shifty_guard_enforced()) OR (SELECT shifty_is_installation_admin()));
CREATE POLICY shifty_admins_remove ON __S__.installation_admins FOR DELETE USING (
  NOT (SELECT shifty_guard_enforced()) OR (SELECT shifty_is_installation_admin()));
"""

TRIGGERS_SQL = r"""
CREATE OR REPLACE FUNCTION __S__.shifty_guard_audit() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, __S__, pg_temp
AS $$
BEGIN
  IF NOT shifty_guard_enforced() THEN
    RETURN NEW;
  END IF;
  -- the client hashes the actor it sends: refusing a mismatch keeps the chain verifiable
  IF NEW.actor IS DISTINCT FROM normalize(session_user::text, NFKC) THEN
    RAISE EXCEPTION 'audit event actor % is not the database login %', NEW.actor, session_user
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.chain IS DISTINCT FROM coalesce(NEW.tenant_id::text, '_system') THEN
    RAISE EXCEPTION 'audit event chain % does not belong to tenant %', NEW.chain, NEW.tenant_id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER shifty_guard_audit BEFORE INSERT ON __S__.audit_events
  FOR EACH ROW EXECUTE FUNCTION __S__.shifty_guard_audit();

-- membership: who may change it, and never to zero admins; serialised on the tenant row
CREATE OR REPLACE FUNCTION __S__.shifty_guard_members() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
DECLARE
  me text := shifty_my_key();
  tid uuid;
  creator text;
  leaving uuid;
BEGIN
  IF NOT shifty_guard_enforced() OR shifty_session_exempt() THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF current_setting('transaction_isolation') = 'repeatable read' THEN
    RAISE EXCEPTION 'membership changes need READ COMMITTED or SERIALIZABLE isolation'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN tid := OLD.tenant_id; ELSE tid := NEW.tenant_id; END IF;
  IF TG_OP = 'UPDATE' AND NEW.tenant_id IS DISTINCT FROM OLD.tenant_id THEN
    RAISE EXCEPTION 'a membership cannot move to another tenant'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM 1 FROM tenants WHERE id = tid FOR UPDATE;
  SELECT shifty_name_key(created_by) INTO creator FROM tenants WHERE id = tid;

  IF TG_TABLE_NAME = 'tenant_users' THEN
    IF TG_OP <> 'DELETE' AND NEW.username_key IS DISTINCT FROM shifty_name_key(NEW.username) THEN
      RAISE EXCEPTION 'user name % folds to % in the database, not %',
        NEW.username, shifty_name_key(NEW.username), NEW.username_key
        USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND (NEW.id <> OLD.id OR NEW.username_key <> OLD.username_key) THEN
      RAISE EXCEPTION 'a user''s name cannot change' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT shifty_is_tenant_admin(tid, me) AND NOT (
        TG_OP = 'INSERT' AND creator = me AND NEW.username_key = me
        AND NOT EXISTS (SELECT 1 FROM tenant_users WHERE tenant_id = tid)) THEN
      RAISE EXCEPTION 'only an admin of tenant % may change its users', tid
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' AND OLD.removed_at IS NULL THEN
      leaving := OLD.id;
    ELSIF TG_OP = 'UPDATE' AND OLD.removed_at IS NULL AND NEW.removed_at IS NOT NULL THEN
      leaving := OLD.id;
    END IF;
    IF leaving IS NOT NULL
       AND EXISTS (SELECT 1 FROM user_roles WHERE tenant_id = tid AND user_id = leaving
                                              AND role = 'admin')
       AND shifty_admins_besides(tid, leaving) = 0 THEN
      RAISE EXCEPTION 'the last admin of tenant % cannot be removed', tid
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  ELSE  -- user_roles
    IF TG_OP = 'UPDATE' THEN
      RAISE EXCEPTION 'roles are granted and revoked, not changed'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT shifty_is_tenant_admin(tid, me) AND NOT (
        TG_OP = 'INSERT' AND NEW.role = 'admin' AND creator = me
        AND NEW.user_id = (SELECT id FROM tenant_users
                            WHERE tenant_id = tid AND username_key = me AND removed_at IS NULL)
        AND NOT EXISTS (SELECT 1 FROM user_roles WHERE tenant_id = tid AND role = 'admin')) THEN
      RAISE EXCEPTION 'only an admin of tenant % may grant or revoke roles', tid
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' AND OLD.role = 'admin'
       AND shifty_admins_besides(tid, OLD.user_id) = 0
       AND EXISTS (SELECT 1 FROM tenant_users WHERE id = OLD.user_id AND removed_at IS NULL) THEN
      RAISE EXCEPTION 'the last admin of tenant % cannot be removed', tid
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
CREATE TRIGGER shifty_guard_members BEFORE INSERT OR UPDATE OR DELETE ON __S__.tenant_users
  FOR EACH ROW EXECUTE FUNCTION __S__.shifty_guard_members();
CREATE TRIGGER shifty_guard_members BEFORE INSERT OR UPDATE OR DELETE ON __S__.user_roles
  FOR EACH ROW EXECUTE FUNCTION __S__.shifty_guard_members();

-- tenant settings (budgets, data roots): its admins or an installation administrator
CREATE OR REPLACE FUNCTION __S__.shifty_guard_tenant() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
BEGIN
  IF NOT shifty_guard_enforced() OR shifty_session_exempt() THEN
    RETURN NEW;
  END IF;
  IF NEW.id <> OLD.id OR NEW.created_by <> OLD.created_by OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'a tenant''s id and creation record cannot change'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD)
     AND NOT shifty_is_tenant_admin(OLD.id, shifty_my_key())
     AND NOT shifty_is_installation_admin() THEN
    RAISE EXCEPTION 'only an admin of tenant % may change its settings', OLD.id
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER shifty_guard_tenant BEFORE UPDATE ON __S__.tenants
  FOR EACH ROW EXECUTE FUNCTION __S__.shifty_guard_tenant();

-- an automatic approval names a retention policy or a workspace of the job's tenant
CREATE OR REPLACE FUNCTION __S__.shifty_auto_approval_ok(tid uuid, approver text)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
  SELECT CASE
    WHEN approver LIKE 'policy:%' THEN EXISTS (
      SELECT 1 FROM retention_policies WHERE tenant_id = tid AND name = substr(approver, 8))
    WHEN approver LIKE 'workspace:%' THEN EXISTS (
      SELECT 1 FROM data_workspaces
       WHERE tenant_id = tid AND id::text = substr(approver, 11) AND status = 'destroying')
    ELSE false END
$$;

-- four-eyes: requested by the login, approved once by another active admin who is the login
CREATE OR REPLACE FUNCTION __S__.shifty_guard_deletion() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, __S__, pg_temp
AS $$
DECLARE
  me text := shifty_my_key();
BEGIN
  IF NOT shifty_guard_enforced() OR shifty_session_exempt() THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'INSERT' THEN
    IF shifty_name_key(NEW.requested_by) IS DISTINCT FROM me THEN
      RAISE EXCEPTION 'a deletion job is requested by the database login %', session_user
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.approved_by IS NOT NULL OR NEW.status <> 'pending_approval') AND NOT (
        NEW.auto_approved AND NEW.status = 'approved'
        AND shifty_auto_approval_ok(NEW.tenant_id, NEW.approved_by)) THEN
      RAISE EXCEPTION 'a new deletion job waits for approval by a second admin'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.tenant_id <> OLD.tenant_id OR NEW.requested_by <> OLD.requested_by
     OR NEW.method <> OLD.method OR NEW.asset_ids IS DISTINCT FROM OLD.asset_ids
     OR NEW.auto_approved <> OLD.auto_approved THEN
    RAISE EXCEPTION 'a deletion job''s tenant, requester, method and assets cannot change'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.approved_by IS DISTINCT FROM OLD.approved_by
     OR NEW.approved_at IS DISTINCT FROM OLD.approved_at
     OR (OLD.status = 'pending_approval' AND NEW.status NOT IN ('pending_approval', 'cancelled'))
  THEN
    IF OLD.status <> 'pending_approval' OR OLD.approved_by IS NOT NULL
       OR NEW.status <> 'approved' OR NEW.approved_by IS NULL THEN
      RAISE EXCEPTION 'a deletion job is approved once, from pending_approval to approved'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF shifty_name_key(NEW.approved_by) IS DISTINCT FROM me THEN
      RAISE EXCEPTION 'approved_by must be the database login %', session_user
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF me = shifty_name_key(OLD.requested_by) THEN
      RAISE EXCEPTION 'four-eyes rule: the requester cannot approve their own deletion job'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT shifty_is_tenant_admin(OLD.tenant_id, me) THEN
      RAISE EXCEPTION 'only an active admin of the tenant may approve a deletion job'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  IF OLD.status IN ('cancelled', 'completed') AND NEW.status <> OLD.status THEN
    RAISE EXCEPTION 'a % deletion job stays %', OLD.status, OLD.status
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER shifty_guard_deletion BEFORE INSERT OR UPDATE ON __S__.deletion_jobs
  FOR EACH ROW EXECUTE FUNCTION __S__.shifty_guard_deletion();
"""

TRIGGERS = (
    ("shifty_guard_audit", "audit_events"),
    ("shifty_guard_members", "tenant_users"),
    ("shifty_guard_members", "user_roles"),
    ("shifty_guard_tenant", "tenants"),
    ("shifty_guard_deletion", "deletion_jobs"),
)
FUNCTIONS = (
    "shifty_guard_deletion()",
    "shifty_auto_approval_ok(uuid, text)",
    "shifty_guard_tenant()",
    "shifty_guard_members()",
    "shifty_guard_audit()",
    "shifty_apply_tenant_rls()",
    "shifty_tenant_claimable(uuid)",
    "shifty_admins_besides(uuid, uuid)",
    "shifty_is_tenant_admin(uuid, text)",
    "shifty_is_installation_admin()",
    "shifty_my_tenants()",
    "shifty_my_key()",
    "shifty_session_exempt()",
    "shifty_guard_enforced()",
    "shifty_guard_owner()",
    "shifty_name_key(text)",
)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fill(sql: str) -> str:
    conn = op.get_bind()
    schema, owner = conn.execute(text("SELECT current_schema(), current_user")).one()
    icu = conn.scalar(text("SELECT 1 FROM pg_catalog.pg_collation WHERE collname = 'und-x-icu'"))
    return (
        sql.replace("__SL__", _literal(schema))
        .replace("__S__", _ident(schema))
        .replace("__OWNER__", _literal(owner))
        .replace("__COLLATE__", 'COLLATE "und-x-icu"' if icu else "")
    )


def _run(sql: str) -> None:
    # one round trip per script: the driver runs several statements in one simple query
    op.get_bind().exec_driver_sql(_fill(sql).replace("%", "%%"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _run(ROLE_SQL)
    _run(FUNCTIONS_SQL)
    _run("SELECT __S__.shifty_apply_tenant_rls()")
    _run(POLICIES_SQL)
    _run(TRIGGERS_SQL)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    drops = [f"DROP TRIGGER IF EXISTS {name} ON __S__.{table};" for name, table in TRIGGERS]
    drops.append(
        """
DO $do$
DECLARE p record;
BEGIN
  FOR p IN SELECT tablename, policyname FROM pg_catalog.pg_policies
            WHERE schemaname = __SL__ AND policyname LIKE 'shifty\\_%'
  LOOP
    EXECUTE format('DROP POLICY %I ON %I.%I', p.policyname, __SL__, p.tablename);
  END LOOP;
  FOR p IN SELECT c.relname FROM pg_catalog.pg_class c
             JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
            WHERE ns.nspname = __SL__ AND c.relkind IN ('r', 'p') AND c.relrowsecurity
  LOOP
    EXECUTE format('ALTER TABLE %I.%I NO FORCE ROW LEVEL SECURITY', __SL__, p.relname);
    EXECUTE format('ALTER TABLE %I.%I DISABLE ROW LEVEL SECURITY', __SL__, p.relname);
  END LOOP;
END
$do$;
REVOKE ALL ON ALL TABLES IN SCHEMA __S__ FROM shifty_person;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA __S__ FROM shifty_person;
REVOKE ALL ON SCHEMA __S__ FROM shifty_person;
"""
    )
    drops += [f"DROP FUNCTION IF EXISTS __S__.{fn};" for fn in FUNCTIONS]
    # the group role stays: it is cluster-wide and may serve other stores
    _run("\n".join(drops))
