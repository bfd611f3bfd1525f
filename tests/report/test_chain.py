"""The streaming chain verifier used by access_audit agrees with core.audit.verify: it accepts
every honest chain (floats, unicode, nesting) and names the same first bad event after tampering."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from shifty_ent.core import audit, store
from shifty_ent.core.tables import AuditEvent
from shifty_ent.report import chain
from shifty_ent.report.sources import snapshot

# PostgreSQL JSONB cannot hold U+0000, so neither can audit details
text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
keys = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=8
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(min_value=-(2.0**53), max_value=2.0**53, allow_nan=False),
    text,
)
details = st.dictionaries(
    keys,
    st.recursive(
        scalars,
        lambda c: st.lists(c, max_size=3) | st.dictionaries(keys, c, max_size=3),
        max_leaves=6,
    ),
    max_size=4,
)


def _walk(engine, tenant_id):
    status = chain.ChainStatus(chain=audit.chain_of(tenant_id))
    with snapshot(engine) as s:
        events = list(chain.walk(s, audit.chain_of(tenant_id), status, page=3))
    return status, events


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(details, min_size=1, max_size=6))
def test_fast_walk_accepts_honest_chains(db_url, tenant, make_context, payloads):
    tid = uuid.UUID(tenant["id"])
    with make_context(tenant="acme") as ctx:
        for i, d in enumerate(payloads):
            ctx.audit(f"test.event{i % 3}", target_type="asset", target_id=uuid.uuid4(), details=d)
    engine = store.get_engine(db_url)
    status, events = _walk(engine, tid)
    with store.new_session(engine) as s:
        core = audit.verify(s, tid)
    assert status.ok is core.ok is True, status.problem
    assert status.events == core.events == len(events) and status.head_seq == core.head_seq


def test_tampering_is_found_at_the_same_event(db_url, tenant, make_context):
    tid = uuid.UUID(tenant["id"])
    with make_context(tenant="acme") as ctx:
        for i in range(10):
            ctx.audit(
                "data.asset.read",
                target_type="asset",
                target_id=str(i),
                details={"classification": "pii", "score": float(i)},
            )
    engine = store.get_engine(db_url)
    status, _ = _walk(engine, tid)
    assert status.ok and status.fallback_hashes == 10  # floats take the RFC 8785 path
    for field, value in (
        ("actor", "mallory"),
        ("details", {"classification": "public"}),
        ("target_id", "other"),
    ):
        with engine.begin() as conn:
            row = conn.execute(
                AuditEvent.__table__.select().where(
                    AuditEvent.tenant_id == tid, AuditEvent.seq == 7
                )
            ).one()
            conn.execute(update(AuditEvent).where(AuditEvent.id == row.id).values({field: value}))
        status, events = _walk(engine, tid)
        with store.new_session(engine) as s:
            core = audit.verify(s, tid)
        assert not status.ok and status.first_bad_seq == core.first_bad_seq == 7
        assert len(events) == status.events  # the walk still lists every event
        with engine.begin() as conn:  # restore for the next field
            conn.execute(
                update(AuditEvent)
                .where(AuditEvent.id == row.id)
                .values({field: getattr(row, field)})
            )
    with engine.begin() as conn:
        conn.execute(
            AuditEvent.__table__.delete().where(AuditEvent.tenant_id == tid, AuditEvent.seq == 4)
        )
    status, _ = _walk(engine, tid)
    assert not status.ok and status.first_bad_seq == 4 and "missing" in status.problem
