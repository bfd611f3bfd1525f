"""Restore an asset's pre-deletion archive (``data asset restore``).

Bringing erased data back is as sensitive as erasing it: admin only, with a reason, audited, and
only into a new directory below the allowed data roots, where the tool could erase it again. The
restored copy is a new file that no policy governs yet; the command says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound, Refused
from shifty_ent.data import pathsafety, permissions
from shifty_ent.data import roots as tenant_roots
from shifty_ent.data.archive import extract_archive
from shifty_ent.data.assets import get_asset, measure_local, validate_text


def _destination(ctx: Context, to: Path) -> Path:
    """``to`` as a new directory below an allowed root (its parent resolved, it absent)."""
    roots = pathsafety.allowed_roots(tenant_roots.paths_on(ctx.session, ctx.tenant_id, ctx.host.id))
    if not roots:
        raise Refused(
            "nowhere to restore to: the tenant has no data root on this host "
            "(an installation administrator adds one: 'tenant root add PATH -t TENANT')"
        )
    if to.name in ("", ".", ".."):
        raise InvalidInput(f"--to {to} must name a new directory")
    parent = Path(os.path.realpath(to.parent))
    if not parent.is_dir():
        raise InvalidInput(f"--to {to}: {parent} is not a directory")
    target = parent / to.name
    if not any(target.is_relative_to(root) and target != root for root in roots):
        raise Refused(f"--to {to} is outside the allowed data roots ({', '.join(map(str, roots))})")
    if os.path.lexists(target):
        raise InvalidInput(f"--to {to} already exists; restore into a new directory")
    return target


def restore_asset(ctx: Context, ref: str, *, to: Path, reason: str) -> dict[str, Any]:
    """Unpack the asset's encrypted archive into ``to``; check it against the registered digest."""
    authorize(ctx, permissions.ASSET_RESTORE)
    reason = validate_text(reason, "--reason", 2000)
    asset = get_asset(ctx, ref)
    if not asset.archive_location:
        raise NotFound(
            f"asset {asset.name!r} has no archive "
            "(its policy did not ask for archive-before-delete)"
        )
    # the header binds the archive to this asset id and every chunk is authenticated, so a file
    # put in its place is refused by extract_archive
    archive = Path(asset.archive_location)
    if not archive.is_file():
        raise NotFound(f"the archive of asset {asset.name!r} is missing: {archive}")
    target = _destination(ctx, to)
    # recorded first: if unpacking fails, the transaction (and this event) rolls back
    ctx.audit(
        "data.asset.restore",
        target_type="asset",
        target_id=asset.id,
        details={"reason": reason, "archive": str(archive), "restored_to": str(target)},
    )
    unpacked = extract_archive(ctx.settings, archive, target, asset.id)
    entries = sorted(os.listdir(target))
    restored = target / entries[0] if len(entries) == 1 else target
    digest = measure_local(restored)[1] if len(entries) == 1 else None
    matches = None if asset.sha256 is None or digest is None else digest == asset.sha256
    return {
        "asset_id": asset.id,
        "name": asset.name,
        "classification": asset.classification,
        "status": asset.status,
        "archive": str(archive),
        "archived_at": asset.archived_at,
        "restored_to": str(target),
        "path": str(restored),
        "files": unpacked["files"],
        "bytes": unpacked["bytes"],
        "sha256": digest,
        "sha256_matches": matches,
    }
