"""Rotate a tenant's vault key (``data vault rotate-key``).

A key-encryption key has a cryptoperiod (NIST SP 800-57 Part 1), and one that may have leaked
must be replaced. Rotation unwraps every data key of the tenant (those of live vault assets and
those in the headers of pre-deletion archives) and wraps it again under a new KEK. The data is
not re-encrypted: its keys never left their wrapping. The old KEK is destroyed once nothing names
it any more.

Under the exclusive key lock (ingests and archives wait; so do readers, for the moment they
unwrap):

1. the new KEK is written to ``keys/<id>.kek``, so whatever is rewrapped below names a key that
   exists;
2. every stored data key is rewrapped, in the command's transaction;
3. every archive header is rewritten (a whole new file renamed over the old one);
4. the old KEK moves to ``keys/`` and the new one becomes ``tenant.kek``;
5. commit, then destroy each key in ``keys/`` that no stored data key and no archive names.

A crash at any step leaves every wrapped key naming a key that exists. The next rotation
finishes the job, since it unwraps each key with the KEK that key names.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import NotFound
from shifty_ent.data import permissions, vault
from shifty_ent.data.archive import archive_key_ids, rewrap_archive
from shifty_ent.data.erasure import remove_ciphertext
from shifty_ent.data.tables import VaultKey


def rotate_tenant_key(ctx: Context) -> dict[str, Any]:
    """Rewrap every data key of the tenant under a new KEK and destroy the keys left unused."""
    authorize(ctx, permissions.VAULT_ROTATE)
    settings, tenant_id = ctx.settings, ctx.tenant_id
    with vault.key_lock(settings, tenant_id, exclusive=True):
        if not vault.kek_path(settings, tenant_id).exists():
            raise NotFound("this tenant has no vault key yet: nothing was ingested or archived")
        old, old_id = vault.load_kek(settings, tenant_id, create=False)
        new = secrets.token_bytes(32)
        new_id = vault.kek_id(new)
        vault.write_key_file(vault.key_file(settings, tenant_id, new_id), new)
        rows = ctx.session.scalars(
            select(VaultKey).where(
                col(VaultKey.tenant_id) == tenant_id,
                col(VaultKey.wrapped_key).is_not(None),
            )
        ).all()
        rewrapped = 0
        for row in rows:
            kek = old if row.kek_id == old_id else vault.kek_by_id(settings, tenant_id, row.kek_id)
            dek = vault.unwrap_key(kek, row.wrapped_key or "", row.asset_id.bytes)
            # compare-and-set: a cryptographic erase that destroyed this key meanwhile wins
            rewrapped += ctx.session.execute(
                update(VaultKey)
                .where(
                    col(VaultKey.asset_id) == row.asset_id,
                    col(VaultKey.wrapped_key) == row.wrapped_key,
                )
                .values(wrapped_key=vault.wrap_key(new, dek, row.asset_id.bytes), kek_id=new_id)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
        archives = 0
        for path in archive_key_ids(settings, tenant_id):
            rewrap_archive(settings, path, new, new_id)
            archives += 1
        vault.write_key_file(vault.key_file(settings, tenant_id, old_id), old)
        vault.write_key_file(vault.kek_path(settings, tenant_id), new)
        vault.key_file(settings, tenant_id, new_id).unlink()
        ctx.audit(
            "data.vault.rotate",
            target_type="tenant",
            target_id=tenant_id,
            details={
                "kek_id": new_id,
                "previous_kek_id": old_id,
                "data_keys": rewrapped,
                "archives": archives,
            },
        )
        ctx.session.commit()
        destroyed, kept = _destroy_unused(ctx, new_id)
    return {
        "kek_id": new_id,
        "previous_kek_id": old_id,
        "data_keys_rewrapped": rewrapped,
        "archives_rewrapped": archives,
        "keys_destroyed": destroyed,
        "keys_kept": kept,
    }


def _destroy_unused(ctx: Context, current_id: str) -> tuple[list[str], list[str]]:
    """Destroy the non-current keys nothing names any more; returns (destroyed, kept)."""
    settings, tenant_id = ctx.settings, ctx.tenant_id
    named = set(
        ctx.session.scalars(
            select(col(VaultKey.kek_id)).where(
                col(VaultKey.tenant_id) == tenant_id,
                col(VaultKey.wrapped_key).is_not(None),
            )
        ).all()
    )
    named.update(k for k in archive_key_ids(settings, tenant_id).values() if k)
    destroyed, kept = [], []
    root = Path(os.path.realpath(vault.tenant_vault_dir(settings, tenant_id)))
    folder = vault.keys_dir(settings, tenant_id)
    for path in sorted(folder.glob("*.kek")) if folder.is_dir() else []:
        kid = "kek:" + path.stem
        if kid == current_id:
            continue
        if kid in named:
            kept.append(kid)
            continue
        # one verified random pass, then unlinked (copy-on-write file systems and SSDs may keep
        # old blocks; the key was only ever stored 0600)
        remove_ciphertext(path, root)
        destroyed.append(kid)
    return destroyed, kept
