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

A rotation closes the tenant's *key epoch*. The data keys destroyed by cryptographic erases
during the epoch stay wrapped under its KEK wherever a copy of the row survives (freed SQLite
pages and WAL, PostgreSQL dead tuples and WAL, backups); only destroying that KEK puts them out
of reach. With ``vault_kms = "aws"`` the KEK is an AWS KMS key scheduled for deletion, which is
what a Purge needs, and each earlier certificate whose key it wrapped gets a
``data.certificate.amend`` audit event saying so (signed certificates are never changed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import NotFound
from shifty_ent.data import permissions, vault, vault_kms
from shifty_ent.data.archive import archive_key_ids, rewrap_archive
from shifty_ent.data.erasure import remove_ciphertext
from shifty_ent.data.tables import DeletionItem, DeletionJob, VaultKey


def rotate_tenant_key(ctx: Context) -> dict[str, Any]:
    """Rewrap every data key of the tenant under a new KEK and destroy the keys left unused."""
    authorize(ctx, permissions.VAULT_ROTATE)
    return close_epoch(ctx)


def close_epoch(ctx: Context, *, reason: str = "data vault rotate-key") -> dict[str, Any]:
    """Close the tenant's key epoch: rewrap the survivors under a new KEK (a new KMS key when
    ``vault_kms`` is set), destroy every KEK nothing names any more, and record, for each
    certificate whose destroyed data key one of them wrapped, that it is now destroyed.

    The caller has authorized: an administrator's rotation, or a cryptographic erase."""
    settings, tenant_id = ctx.settings, ctx.tenant_id
    with vault.key_lock(settings, tenant_id, exclusive=True):
        if vault.current_kek_id(settings, tenant_id) is None:
            raise NotFound("this tenant has no vault key yet: nothing was ingested or archived")
        old, old_id = vault.load_kek(settings, tenant_id, create=False)
        new, new_id, record = vault.new_epoch_key(settings, tenant_id)
        suffix = ".kms" if record is not None else ".kek"
        staged = vault.key_file(settings, tenant_id, new_id).with_suffix(suffix)
        vault.write_key_file(staged, record if record is not None else new)
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
        _retire_current(ctx)
        if record is not None:
            vault.write_key_file(vault.kms_path(settings, tenant_id), record)
            _drop_local_current(ctx)
        else:
            vault.write_key_file(vault.kek_path(settings, tenant_id), new)
        staged.unlink()
        ctx.audit(
            "data.vault.rotate",
            target_type="tenant",
            target_id=tenant_id,
            details={
                "kek_id": new_id,
                "previous_kek_id": old_id,
                "kek_held_by": vault_kms.KIND if record is not None else "local_file",
                "data_keys": rewrapped,
                "archives": archives,
                "reason": reason,
            },
        )
        ctx.session.commit()
        destroyed, kept = _destroy_unused(ctx, new_id)
        amended = record_closed_epoch(ctx, destroyed)
        ctx.session.commit()
    return {
        "kek_id": new_id,
        "kek_held_by": vault_kms.KIND if record is not None else "local_file",
        "previous_kek_id": old_id,
        "data_keys_rewrapped": rewrapped,
        "archives_rewrapped": archives,
        "keys_destroyed": sorted(destroyed),
        "keys_destroyed_detail": destroyed,
        "keys_kept": kept,
        "certificates_amended": amended,
    }


def _retire_current(ctx: Context) -> None:
    """Move the current KEK (and a local key file left beside a KMS record) to ``keys/``, where
    it stays until nothing names it."""
    settings, tenant_id = ctx.settings, ctx.tenant_id
    kms = vault.kms_path(settings, tenant_id)
    local = vault.kek_path(settings, tenant_id)
    if kms.exists():
        record = vault_kms.read_record(kms)
        kept = vault.key_file(settings, tenant_id, str(record["kek_id"])).with_suffix(".kms")
        vault.write_key_file(kept, vault_kms.record_bytes(record))
    if local.exists():
        key = local.read_bytes()
        vault.write_key_file(vault.key_file(settings, tenant_id, vault.kek_id(key)), key)


def _drop_local_current(ctx: Context) -> None:
    """Once the current KEK is a KMS record, the local key file it replaced (kept in ``keys/``
    until nothing names it) must not stay beside the vault."""
    local = vault.kek_path(ctx.settings, ctx.tenant_id)
    if local.exists():
        root = Path(os.path.realpath(vault.tenant_vault_dir(ctx.settings, ctx.tenant_id)))
        remove_ciphertext(local, root)


def _destroy_unused(ctx: Context, current_id: str) -> tuple[dict[str, dict[str, Any]], list[str]]:
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
    destroyed: dict[str, dict[str, Any]] = {}
    kept: list[str] = []
    root = Path(os.path.realpath(vault.tenant_vault_dir(settings, tenant_id)))
    folder = vault.keys_dir(settings, tenant_id)
    paths = sorted([*folder.glob("*.kek"), *folder.glob("*.kms")]) if folder.is_dir() else []
    for path in paths:
        kid = "kek:" + path.stem
        if kid == current_id:
            continue
        if kid in named:
            kept.append(kid)
            continue
        if path.suffix == ".kms":
            record = vault_kms.read_record(path)
            vault.forget_kms_key(str(record["kms_key_id"]))
            detail = vault_kms.destroy(settings, record)
        else:
            detail = {"kind": "local_file", "location": str(path)}
        # one verified random pass, then unlinked (copy-on-write file systems and SSDs may keep
        # old blocks; the key, or its KMS ciphertext, was only ever stored 0600)
        remove_ciphertext(path, root)
        destroyed[kid] = {**detail, "destroyed_at": ctx.now().isoformat()}
    return destroyed, kept


def record_closed_epoch(ctx: Context, destroyed: dict[str, dict[str, Any]]) -> list[str]:
    """For each certificate of a cryptographic erase (a vault asset, or an archive) whose data
    key one of ``destroyed`` wrapped and whose epoch was still open when it was signed, append
    a ``data.certificate.amend`` audit event (shown by ``data certificate show``) saying what
    became of that KEK; signed certificates are never changed."""
    if not destroyed:
        return []
    rows = ctx.session.execute(
        select(
            col(DeletionItem.asset_id), col(DeletionItem.result), col(DeletionJob.certificate_id)
        )
        .join(DeletionJob, col(DeletionJob.id) == col(DeletionItem.job_id))
        .where(
            col(DeletionJob.tenant_id) == ctx.tenant_id,
            col(DeletionItem.status) == "erased",
            col(DeletionJob.certificate_id).is_not(None),
        )
    ).all()
    found = []
    for asset_id, result, cert_id in rows:
        kw = (result or {}).get("key_wrapping_key") or {}
        if kw.get("kek_id") in destroyed and not str(kw.get("epoch", "")).startswith("closed"):
            found.append((asset_id, kw["kek_id"], cert_id, bool(result.get("data_remains"))))
    by_cert: dict[str, list[tuple[str, str, bool]]] = {}
    for asset_id, kid, cert_id, remains in found:
        by_cert.setdefault(str(cert_id), []).append((str(asset_id), kid, remains))
    for cert_id, pairs in sorted(by_cert.items()):
        keks = sorted({kid for _, kid, _ in pairs})
        purge = all(destroyed[k].get("kind") == vault_kms.KIND for k in keks)
        category = "Purge" if purge else "Clear"
        # a copy that survives (an archive kept) still leaves the asset as a whole not sanitized
        remains = any(r for _, _, r in pairs)
        ctx.audit(
            "data.certificate.amend",
            target_type="certificate",
            target_id=cert_id,
            details={
                "event": "key epoch closed",
                "assets": sorted({a for a, _, _ in pairs}),
                "keys_destroyed": {k: destroyed[k] for k in keks},
                "nist_category_now": "none" if remains else category,
                "location_nist_category_now": category,
                "note": epoch_note(keks, destroyed, purge),
            },
        )
    return sorted(by_cert)


def epoch_note(keks: list[str], destroyed: dict[str, dict[str, Any]], purge: bool) -> str:
    """Why a closed epoch does (AWS KMS) or does not (a local file) make the erase a Purge."""
    names = ", ".join(keks)
    if purge:
        when = ", ".join(
            f"{destroyed[k].get('kms_key_arn') or destroyed[k].get('kms_key_id')} "
            f"({destroyed[k].get('kms_key_state')}, deleted by AWS on "
            f"{destroyed[k].get('kms_deletion_date', 'the end of its waiting period')})"
            for k in keks
        )
        return (
            f"Key epoch closed: the key-encryption key {names} that wrapped the destroyed data "
            f"key is gone. Its AWS KMS key {when} refuses every operation from now on and its "
            "ciphertext was erased from the vault directory, so a copy of the wrapped data key "
            "left in freed database pages, WAL or backups cannot be unwrapped with anything this "
            "installation holds: Purge by cryptographic erase from this point. An AWS principal "
            "allowed kms:CancelKeyDeletion could restore the key until its deletion date."
        )
    return (
        f"Key epoch closed: the key-encryption key {names} that wrapped the destroyed data key "
        "was a local file; it was overwritten with one verified random pass and unlinked. Copies "
        "on the medium (journal, copy-on-write, SSD remapping) and in backups are outside that: "
        'still Clear. Keep the vault\'s keys in AWS KMS (vault_kms = "aws") for Purge.'
    )
