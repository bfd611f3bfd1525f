"""Data assets: what a tenant holds, where, how sensitive, for whom, and until when.

Other groups register their files here (arcade datasets, model checkpoints) with
:func:`register_asset` and find them with :func:`get_asset`. Locations:

- local files and directories (a path or ``file://``), stored as an absolute path;
- ``s3://bucket/key`` objects (deleted version by version through boto3);
- ``vault://TENANT/ASSET`` copies made by :func:`ingest_asset`, encrypted with a per-asset key;
- any other scheme, which can be registered but only deleted by attestation.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlmodel import col, select

from shifty_ent.core import hosts, infiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused
from shifty_ent.core.ids import resolve
from shifty_ent.data import permissions
from shifty_ent.data.policies import (
    apply_policy,
    get_policy,
    policy_for_classification,
    validate_classification,
)
from shifty_ent.data.tables import Asset, AssetSubject

__all__ = [
    "Asset",
    "Location",
    "get_asset",
    "hold_asset",
    "list_assets",
    "local_path",
    "parse_location",
    "register_asset",
    "release_asset",
    "show_asset",
]

# reading these is recorded in the audit chain
CLASSIFIED = frozenset({"confidential", "restricted", "pii", "phi"})
HASH_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Location:
    scheme: str  # file | s3 | vault | other scheme name
    uri: str  # what is stored in Asset.location
    path: Path | None = None  # for file
    bucket: str | None = None  # for s3
    key: str | None = None  # for s3


def parse_location(text: str, *, allow_vault: bool = False) -> Location:
    """Normalise a location: paths become absolute (symlinks are NOT resolved), URIs are kept."""
    raw = (text or "").strip()
    if not raw or "\x00" in raw:
        raise InvalidInput("--location must be a path or a URI")
    if "://" not in raw:
        return Location(
            "file",
            os.path.abspath(os.path.expanduser(raw)),
            Path(os.path.abspath(os.path.expanduser(raw))),
        )
    parsed = urlparse(raw)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(
                f"file URI {raw!r} names a remote host; only local files are supported"
            )
        path = os.path.abspath(unquote(parsed.path))
        return Location("file", path, Path(path))
    if scheme == "s3":
        bucket, key = parsed.netloc, parsed.path.lstrip("/")
        if not bucket or not key:
            raise InvalidInput(f"S3 location {raw!r} must be s3://BUCKET/KEY")
        return Location("s3", f"s3://{bucket}/{key}", bucket=bucket, key=key)
    if scheme == "vault":
        if not allow_vault:
            raise InvalidInput(
                "vault:// locations are created by 'data asset ingest FILE', not registered"
            )
        return Location("vault", raw)
    if not scheme.isascii() or not scheme.replace("+", "").replace("-", "").isalnum():
        raise InvalidInput(f"location {raw!r} has an invalid scheme")
    return Location(scheme, raw)


def local_path(asset: Asset) -> Path | None:
    """The local file or directory of a ``file`` asset (None for other schemes)."""
    return Path(asset.location) if asset.scheme == "file" else None


def validate_text(value: str, what: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value or len(value) > max_len or any(ord(c) < 32 for c in value):
        raise InvalidInput(f"{what} must be 1-{max_len} printable characters")
    return value


def _validate_name(name: str) -> str:
    name = validate_text(name, "asset name", 200)
    if len(name) == 36 and name.count("-") == 4:
        raise InvalidInput(f"asset name {name!r} looks like a UUID; choose a name")
    return name


def _validate_subjects(subjects: Sequence[str]) -> list[str]:
    out: list[str] = []
    for subject in subjects:
        subject = validate_text(subject, "--subject", 200)
        if subject not in out:
            out.append(subject)
    return out


MAX_FILES = 100_000  # files in a registered directory, unless --max-files says otherwise
MAX_DEPTH = 256  # directory levels below a registered directory
HASH_MAX = 64 * 1024**3  # bytes hashed at registration without --no-hash (apparent size)


# whole system trees: registering one would claim (and a sweep might erase) the machine itself
def outside_roots(ctx: Context, path: Path, type_: str) -> str | None:
    """Why ``path`` lies outside every place this tenant's files may be erased on this host (its
    data roots, and its managed workspace or dataset area), or None when it lies inside one."""
    from shifty_ent.data import pathsafety, roots

    allowed = pathsafety.allowed_roots(roots.paths_on(ctx.session, ctx.tenant_id, ctx.host.id))
    managed = {
        "workspace": ctx.settings.workspace_dir / str(ctx.tenant_id),
        "dataset": ctx.settings.data_dir / "datasets" / str(ctx.tenant_id),
    }.get(type_)
    if managed is not None:
        allowed += pathsafety.allowed_roots([managed])
    for form in {Path(os.path.abspath(path)), Path(os.path.realpath(path))}:
        if any(form != r and form.is_relative_to(r) for r in allowed):
            return None
    tenant = ctx.tenant.name if ctx.tenant else str(ctx.tenant_id)
    return (
        f"{path} is outside every data root of tenant {tenant} on this host, so this tool cannot "
        "erase it until an installation administrator adds a root covering it "
        f"('tenant root add PATH -t {tenant}')"
    )


def refuse_system_root(path: Path) -> None:
    """Refuse (exit 4) a system tree such as ``/``, ``/usr`` or ``/home`` as a location."""
    from shifty_ent.data import roots

    for candidate in {os.path.normpath(str(path)), os.path.realpath(path)}:
        if candidate in roots.SYSTEM_ROOTS:
            raise Refused(
                f"--location {candidate} is a system directory; register a directory below it"
            )


def _walk_files(root: Path, max_files: int) -> list[tuple[bytes, Path, int]]:
    """(relative path as bytes, path, size) of every regular file under ``root``, iteratively
    (no recursion limit), symlinks not followed; names need not be UTF-8. Unreadable
    directories are skipped, as :func:`os.walk` does. Refuses (exit 2) more than ``max_files``
    files or more than :data:`MAX_DEPTH` levels."""
    files: list[tuple[bytes, Path, int]] = []
    stack: list[tuple[bytes, int]] = [(b"", 0)]
    base = os.fsencode(root)
    while stack:
        rel, depth = stack.pop()
        try:
            with os.scandir(os.path.join(base, rel) if rel else base) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            child = os.path.join(rel, entry.name) if rel else entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if depth + 1 > MAX_DEPTH:
                    raise InvalidInput(
                        f"--location {root} is more than {MAX_DEPTH} directories deep; "
                        "register a directory below it"
                    )
                stack.append((child, depth + 1))
            elif stat.S_ISREG(st.st_mode):
                files.append((child, Path(os.fsdecode(os.path.join(base, child))), st.st_size))
                if len(files) > max_files:
                    raise InvalidInput(
                        f"--location {root} holds more than {max_files} files; "
                        "raise --max-files or register directories below it"
                    )
    files.sort()
    return files


def _too_big(path: Path, size: int) -> InvalidInput:
    return InvalidInput(
        f"--location {path} is {size} bytes, over {HASH_MAX // 1024**3} GiB to hash; "
        "give --sha256 or --no-hash"
    )


def measure_local(
    path: Path, *, hash: bool = True, max_files: int = MAX_FILES
) -> tuple[int | None, str | None]:
    """(size, sha256) of a readable regular file, or of a directory tree; (None, None) otherwise.

    A directory's digest is SHA-256 over ``relative-path NUL file-sha256 LF`` lines in sorted
    order (of the names' bytes), so it changes when any file's name or content changes. Without
    ``hash`` only the size is measured; with it, more than :data:`HASH_MAX` bytes (apparent
    size: a sparse file counts whole) are refused (exit 2).
    """
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    if stat.S_ISREG(st.st_mode):
        if not hash:
            return st.st_size, None
        if st.st_size > HASH_MAX:
            raise _too_big(path, st.st_size)
        try:
            return st.st_size, _file_sha256(path)
        except OSError:
            return st.st_size, None
    if stat.S_ISDIR(st.st_mode):
        files = _walk_files(path, max_files)
        total = sum(size for _, _, size in files)
        if not hash:
            return total, None
        if total > HASH_MAX:
            raise _too_big(path, total)
        tree = hashlib.sha256()
        try:
            for rel, full, _ in files:
                tree.update(rel + b"\0" + _file_sha256(full).encode() + b"\n")
        except OSError:
            return (total or None), None
        return total, tree.hexdigest()
    return None, None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        while chunk := os.read(fd, HASH_CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def register_asset(
    ctx: Context,
    *,
    name: str,
    type: str,
    classification: str,
    location: str,
    size_bytes: int | None = None,
    policy: str | None = None,
    subjects: Sequence[str] = (),
    sha256: str | None = None,
    _vault: bool = False,
    asset_id: uuid.UUID | None = None,
    hash: bool = True,
    max_files: int = MAX_FILES,
    strict_roots: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Asset:
    """Register an asset of the tenant (operator or admin); audited.

    A local location outside every data root of the tenant on this host could never be erased
    by this tool: ``warn`` hears why, and with ``strict_roots`` it is refused (exit 2).

    The size and SHA-256 of a readable local file or directory are measured when not given
    (the SHA-256 not with ``hash=False``; see :func:`measure_local` for the limits). Its
    effective policy is ``policy`` or the tenant's policy for its classification, from which the
    expiry is derived.
    """
    authorize(ctx, permissions.ASSET_WRITE)
    name = _validate_name(name)
    type_ = validate_text(type, "--type", 64).lower()
    classification = validate_classification(classification)
    loc = parse_location(location, allow_vault=_vault)
    subjects_ = _validate_subjects(subjects)
    if size_bytes is not None and size_bytes < 0:
        raise InvalidInput("--size must be zero or more bytes")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidInput("sha256 must be 64 hex characters")
    if max_files < 1:
        raise InvalidInput("--max-files must be at least 1")
    if loc.scheme == "file" and loc.path is not None:
        infiles.refuse_special(loc.path, "--location", allow_dir=True)
        refuse_system_root(loc.path)
        outside = outside_roots(ctx, loc.path, type_)
        if outside is not None and strict_roots:
            raise InvalidInput(f"{outside}; --strict-roots refuses it")
        if outside is not None and warn is not None:
            warn(outside)
    if loc.scheme == "file" and loc.path is not None and (size_bytes is None or sha256 is None):
        measured_size, measured_sha = measure_local(
            loc.path, hash=hash and sha256 is None, max_files=max_files
        )
        size_bytes = size_bytes if size_bytes is not None else measured_size
        sha256 = sha256 or measured_sha
    duplicate = ctx.session.scalars(
        select(Asset.id).where(
            Asset.tenant_id == ctx.tenant_id, Asset.name == name, Asset.status != "deleted"
        )
    ).first()
    if duplicate is not None:
        raise Conflict(f"an asset named {name!r} already exists ({duplicate}); choose another name")
    host_id = ctx.host.id if loc.scheme in ("file", "vault") else None
    key = f"{host_id}:{loc.uri}" if host_id else loc.uri
    _claimable(ctx, loc, key)
    if host_id is not None:
        hosts.remember(ctx.session, ctx.host)
    pol = get_policy(ctx, policy) if policy else policy_for_classification(ctx, classification)
    asset = Asset(
        tenant_id=ctx.tenant_id,
        name=name,
        type=type_,
        classification=classification,
        location=loc.uri,
        scheme=loc.scheme,
        host_id=host_id,
        location_key=key,
        size_bytes=size_bytes,
        sha256=sha256,
        policy_explicit=bool(policy),
        subjects=subjects_,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    if asset_id is not None:
        asset.id = asset_id
    apply_policy(asset, pol)
    ctx.session.add(asset)
    ctx.session.flush()
    for subject in subjects_:
        ctx.session.add(AssetSubject(tenant_id=ctx.tenant_id, asset_id=asset.id, subject=subject))
    ctx.session.flush()
    ctx.audit(
        "data.asset.register",
        target_type="asset",
        target_id=asset.id,
        details={
            "name": name,
            "type": type_,
            "classification": classification,
            "location": loc.uri,
            "scheme": loc.scheme,
            "host_id": host_id,
            "size_bytes": size_bytes,
            "sha256": sha256,
            "policy_id": str(asset.policy_id) if asset.policy_id else None,
            "expires_at": asset.expires_at.isoformat() if asset.expires_at else None,
            # subject identifiers are personal data: the chain keeps only how many there are
            "subject_count": len(subjects_),
        },
    )
    return asset


def live_asset_at(ctx: Context, location: str) -> Asset | None:
    """The tenant's live asset at ``location`` (as registration would key it), if any: one
    location is one asset, so a caller that finds one refers to it instead of registering."""
    loc = parse_location(location)
    host_id = ctx.host.id if loc.scheme in ("file", "vault") else None
    key = f"{host_id}:{loc.uri}" if host_id else loc.uri
    return ctx.session.scalars(
        select(Asset).where(
            Asset.tenant_id == ctx.tenant_id,
            Asset.location_key == key,
            Asset.status != "deleted",
        )
    ).first()


def refuse_foreign_root(ctx: Context, path: Path, what: str) -> None:
    """Refuse (exit 4) a local path inside another tenant's data root on this host: that
    directory's files are the other tenant's, whatever the spelling (symlinks resolved too)."""
    from shifty_ent.data import roots

    for form in {os.path.abspath(path), os.path.realpath(path)}:
        owner = roots.owner_of(ctx.session, ctx.host.id, form)
        if owner is not None and owner.tenant_id != ctx.tenant_id:
            raise Refused(f"{what} {path} lies in another tenant's data root; refused")


def _claimable(ctx: Context, loc: Location, key: str) -> None:
    """One location is a live asset of one tenant, once. Checked here for a clear message (under
    the roots lock, so a concurrent root assignment cannot slip in between); the unique index
    ``uq_data_assets_live_location`` is the database's own guarantee against a race."""
    from shifty_ent.data import roots

    if loc.scheme == "file" and loc.path is not None:
        roots.lock(ctx.session)
        refuse_foreign_root(ctx, loc.path, "location")
    holder = ctx.session.scalars(
        select(Asset).where(Asset.location_key == key, Asset.status != "deleted")
    ).first()
    if holder is None:
        return
    if holder.tenant_id != ctx.tenant_id:
        raise Refused(f"location {loc.uri} is a live asset of another tenant; refused")
    raise Conflict(
        f"location {loc.uri} is already live asset {holder.name!r} ({holder.id}); "
        "one location is registered once"
    )


def get_asset(ctx: Context, ref: str) -> Asset:
    """An asset of ``ctx.tenant`` by UUID, unique id prefix or name (live assets win on names)."""
    try:
        return resolve(
            ctx.session,
            Asset,
            ref,
            what="asset",
            tenant_id=ctx.tenant_id,
            extra=Asset.status != "deleted",
        )
    except NotFound:
        return resolve(ctx.session, Asset, ref, what="asset", tenant_id=ctx.tenant_id)


def show_asset(ctx: Context, ref: str) -> Asset:
    """One asset; reading a classified asset's record appends an audit event."""
    authorize(ctx, permissions.ASSET_READ)
    asset = get_asset(ctx, ref)
    if asset.classification in CLASSIFIED:
        ctx.audit(
            "data.asset.read",
            target_type="asset",
            target_id=asset.id,
            details={"classification": asset.classification, "via": "asset show"},
        )
    return asset


def list_assets(
    ctx: Context,
    *,
    classification: str | None = None,
    expiring_within_days: int | None = None,
    status: str | None = None,
    subject: str | None = None,
    include_deleted: bool = False,
) -> list[Asset]:
    """Assets of the tenant, soonest expiry first when filtering by ``expiring_within_days``."""
    authorize(ctx, permissions.ASSET_READ)
    stmt = select(Asset).where(Asset.tenant_id == ctx.tenant_id)
    if classification:
        stmt = stmt.where(Asset.classification == validate_classification(classification))
    if status:
        stmt = stmt.where(Asset.status == status)
    elif not include_deleted:
        stmt = stmt.where(Asset.status != "deleted")
    if subject:
        stmt = stmt.where(
            col(Asset.id).in_(
                select(col(AssetSubject.asset_id)).where(
                    col(AssetSubject.tenant_id) == ctx.tenant_id,
                    col(AssetSubject.subject) == subject,
                )
            )
        )
    if expiring_within_days is not None:
        if expiring_within_days < 0:
            raise InvalidInput("--expiring-within must be zero or more days")
        horizon = ctx.now() + timedelta(days=expiring_within_days)
        stmt = stmt.where(
            col(Asset.expires_at).is_not(None),
            col(Asset.expires_at) <= horizon,
        ).order_by(col(Asset.expires_at), col(Asset.name))
    else:
        stmt = stmt.order_by(col(Asset.created_at), col(Asset.name))
    rows = list(ctx.session.scalars(stmt).all())
    classified = [a for a in rows if a.classification in CLASSIFIED]
    if classified:
        ctx.audit(
            "data.asset.list",
            target_type="asset",
            details={
                "classified_assets": len(classified),
                "filters": {
                    "classification": classification,
                    "expiring_within_days": expiring_within_days,
                    "subject_filter": subject is not None,
                },
            },
        )
    return rows


def hold_asset(ctx: Context, ref: str, *, reason: str) -> Asset:
    """Place a legal hold (operator or admin): no deletion request, sweep or erase while held."""
    authorize(ctx, permissions.ASSET_WRITE)
    reason = validate_text(reason, "--reason", 2000)
    asset = get_asset(ctx, ref)
    if asset.status == "deleted":
        raise Conflict(f"asset {asset.name!r} is already deleted")
    if asset.legal_hold:
        raise Conflict(f"asset {asset.name!r} is already on legal hold ({asset.hold_reason})")
    asset.legal_hold, asset.hold_reason = True, reason
    asset.hold_by, asset.hold_at = ctx.actor, ctx.now()
    ctx.session.add(asset)
    ctx.session.flush()
    ctx.audit(
        "data.asset.hold", target_type="asset", target_id=asset.id, details={"reason": reason}
    )
    return asset


def release_asset(ctx: Context, ref: str) -> Asset:
    """Lift a legal hold (admin only: releasing evidence is a bigger step than holding it)."""
    authorize(ctx, permissions.ASSET_RELEASE)
    asset = get_asset(ctx, ref)
    if not asset.legal_hold:
        raise Conflict(f"asset {asset.name!r} is not on legal hold")
    previous = asset.hold_reason
    asset.legal_hold, asset.hold_reason, asset.hold_by, asset.hold_at = False, None, None, None
    ctx.session.add(asset)
    ctx.session.flush()
    ctx.audit(
        "data.asset.release",
        target_type="asset",
        target_id=asset.id,
        details={"previous_reason": previous},
    )
    return asset


def refuse_if_held(asset: Asset) -> None:
    if asset.legal_hold:
        raise Refused(
            f"asset {asset.name!r} is on legal hold ({asset.hold_reason}); release it first"
        )


def ingest_asset(
    ctx: Context,
    source: Path,
    *,
    name: str,
    classification: str,
    type: str = "file",
    policy: str | None = None,
    subjects: Sequence[str] = (),
) -> Asset:
    """Copy ``source`` into the tenant vault, encrypted from its first byte (operator or admin).

    The data key exists only wrapped by the tenant key, so the asset can later be purged by
    cryptographic erase. The source file itself is left as it is: erase it separately.
    """
    from shifty_ent.data import vault
    from shifty_ent.data.tables import VaultKey

    authorize(ctx, permissions.ASSET_WRITE)
    _validate_name(name)
    validate_classification(classification)
    infiles.refuse_special(source, "source")
    refuse_foreign_root(ctx, source, "source")
    tenant_id = ctx.tenant_id
    ctx.session.commit()  # no write lock held while encrypting a large file
    asset_id = uuid.uuid4()
    dek, size, sha = vault.encrypt_file_into_vault(ctx.settings, tenant_id, asset_id, source)
    try:
        # wrap and store the data key, and commit, under the key lock: a key rotation then
        # either finds this key in the store or runs before it is wrapped
        with vault.key_lock(ctx.settings, tenant_id):
            kek, kid = vault.load_kek(ctx.settings, tenant_id, create=True)
            asset = register_asset(
                ctx,
                name=name,
                type=type,
                classification=classification,
                location=vault.vault_uri(tenant_id, asset_id),
                size_bytes=size,
                policy=policy,
                subjects=subjects,
                sha256=sha,
                _vault=True,
                asset_id=asset_id,
            )
            wrapped = vault.wrap_key(kek, dek, asset_id.bytes)
            ctx.session.add(
                VaultKey(asset_id=asset.id, tenant_id=tenant_id, kek_id=kid, wrapped_key=wrapped)
            )
            ctx.session.flush()
            ctx.audit(
                "data.asset.ingest",
                target_type="asset",
                target_id=asset.id,
                details={"source": str(source), "kek_id": kid, "algorithm": "AES-256-GCM"},
            )
            final = vault.vault_file(ctx.settings, tenant_id, asset_id)
            os.replace(vault.partial_file(ctx.settings, tenant_id, asset_id), final)
            vault.fsync_dir(final.parent)
            ctx.session.commit()
    except BaseException:
        vault.partial_file(ctx.settings, tenant_id, asset_id).unlink(missing_ok=True)
        vault.vault_file(ctx.settings, tenant_id, asset_id).unlink(missing_ok=True)
        raise
    return asset
