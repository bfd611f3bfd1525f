"""``data export``: GDPR Art. 20 portability as a documented, machine-readable zip.

Layout (see docs/data.md)::

    manifest.json          format, tenant, subject, time, who, per-file records/bytes/sha256
                           and field descriptions
    manifest.json.sig      Ed25519 signature over manifest.json's bytes, with the public key
    checksums.sha256       ``sha256sum -c`` compatible
    data/<table>.jsonl     one JSON object per line, the same objects as ``-o json`` prints

With ``--subject ID`` only records that concern that person are included, and other people's
subject identifiers are removed from the asset records.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from shifty_ent import __version__
from shifty_ent.core import outfiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.canonical import to_jsonable
from shifty_ent.core.context import Context
from shifty_ent.core.errors import NotFound
from shifty_ent.core.signing import sign_bytes
from shifty_ent.core.tables import AuditEvent
from shifty_ent.data import permissions
from shifty_ent.data.tables import (
    Asset,
    AssetSubject,
    DeletionCertificate,
    DeletionItem,
    DeletionJob,
    Notification,
    RetentionPolicy,
    Workspace,
)

FORMAT = "shifty-ent.data-export/v1"
DESCRIPTIONS = {
    "policies": "Retention policies: classifications covered, retention_days, auto_delete, "
    "archive_before_delete, notify_days, method.",
    "assets": "Data assets: id, name, type, classification, location, size_bytes, sha256, "
    "policy_id, expires_at, legal_hold, subjects, status, created_by, deleted_at.",
    "deletion_jobs": "Deletion jobs with per-asset items: method, reason, requested_by, "
    "approved_by, status, certificate_id, items[].result (passes, verification).",
    "certificates": "Signed deletion certificates: certificate (the signed document), "
    "signature (Ed25519, base64), key_fingerprint, public_key.",
    "workspaces": "Disposable workspaces: type, path, size_allocated_bytes, usage_bytes, "
    "ttl_seconds, status.",
    "notifications": "Notices recorded by the sweep and their webhook delivery.",
    "audit_events": "Audit chain events (seq, at, actor, action, target, details, prev_hash, "
    "hash) that concern the exported records.",
}


def export_records(
    ctx: Context, out: Path, *, subject: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Write the zip (admin or auditor); returns the manifest."""
    authorize(ctx, permissions.EXPORT)
    outfiles.check_target(out, force=force)
    tables = _collect(ctx, subject)
    files: list[dict[str, Any]] = []
    blobs: dict[str, bytes] = {}
    for name, rows in tables.items():
        data = "".join(
            json.dumps(to_jsonable(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows
        ).encode("utf-8")
        path = f"data/{name}.jsonl"
        blobs[path] = data
        files.append(
            {
                "path": path,
                "records": len(rows),
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "description": DESCRIPTIONS[name],
            }
        )
    manifest = {
        "format": FORMAT,
        "legal_basis": "GDPR Art. 20 (data portability)"
        + (" for one data subject" if subject else ""),
        "source_system": f"shifty-ent {__version__}",
        "tenant": {"id": str(ctx.tenant_id), "name": ctx.tenant.name if ctx.tenant else None},
        "subject": subject,
        "exported_at": ctx.now().isoformat(),
        "exported_by": ctx.actor,
        "identity": ctx.identity,
        "encoding": "UTF-8 JSON Lines; times ISO 8601 with offset; ids are UUIDs",
        "files": files,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()

    pair = ctx.signing_key()
    signature = {
        "algorithm": "Ed25519",
        "signed_file": "manifest.json",
        "key_fingerprint": pair.fingerprint,
        "public_key": pair.public_b64,
        "signature": sign_bytes(pair, manifest_bytes),
    }
    checksums = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
    checksums += f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
    with (
        outfiles.open_output(out, force=force) as fh,
        zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf,
    ):
        zf.writestr("manifest.json", manifest_bytes)
        zf.writestr("manifest.json.sig", json.dumps(signature, indent=2) + "\n")
        zf.writestr("checksums.sha256", checksums)
        for path, data in blobs.items():
            zf.writestr(path, data)
    ctx.audit(
        "data.export",
        target_type="export",
        details={
            "subject_export": subject is not None,
            "file": str(out),
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "records": {f["path"]: f["records"] for f in files},
        },
    )
    return manifest


def _collect(ctx: Context, subject: str | None) -> dict[str, list[Any]]:
    tid = ctx.tenant_id
    s = ctx.session
    if subject is None:
        assets = list(
            s.scalars(
                select(Asset).where(col(Asset.tenant_id) == tid).order_by(col(Asset.created_at))
            )
        )
        jobs = list(
            s.scalars(
                select(DeletionJob)
                .where(DeletionJob.tenant_id == tid)
                .order_by(col(DeletionJob.created_at))
            )
        )
        policies = list(s.scalars(select(RetentionPolicy).where(RetentionPolicy.tenant_id == tid)))
        workspaces = list(s.scalars(select(Workspace).where(Workspace.tenant_id == tid)))
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.tenant_id) == tid)
                .order_by(col(AuditEvent.seq))
            )
        )
        asset_rows = [a.public() for a in assets]
    else:
        ids = set(
            s.scalars(
                select(AssetSubject.asset_id).where(
                    AssetSubject.tenant_id == tid, AssetSubject.subject == subject
                )
            )
        )
        jobs_by_subject = list(
            s.scalars(
                select(DeletionJob).where(
                    DeletionJob.tenant_id == tid, DeletionJob.subject == subject
                )
            )
        )
        if not ids and not jobs_by_subject:
            raise NotFound(f"no record names data subject {subject!r}")
        assets = list(
            s.scalars(
                select(Asset)
                .where(col(Asset.tenant_id) == tid, col(Asset.id).in_(ids))
                .order_by(col(Asset.created_at))
            )
        )
        item_jobs = set(
            s.scalars(
                select(DeletionItem.job_id).where(
                    DeletionItem.tenant_id == tid,
                    col(DeletionItem.asset_id).in_(ids),
                )
            )
        )
        jobs = sorted(
            {
                j.id: j
                for j in [*jobs_by_subject, *(s.get(DeletionJob, j) for j in item_jobs)]
                if j
            }.values(),
            key=lambda j: j.created_at,
        )
        policy_ids = {a.policy_id for a in assets if a.policy_id}
        policies = [p for p in (s.get(RetentionPolicy, p) for p in policy_ids) if p]
        workspaces = []
        targets = {str(i) for i in ids} | {str(j.id) for j in jobs}
        targets |= {str(j.certificate_id) for j in jobs if j.certificate_id}
        events = list(
            s.scalars(
                select(AuditEvent)
                .where(col(AuditEvent.tenant_id) == tid, col(AuditEvent.target_id).in_(targets))
                .order_by(col(AuditEvent.seq))
            )
        )
        asset_rows = []
        for a in assets:
            row = a.public()
            row["subjects"] = [x for x in row["subjects"] if x == subject]
            asset_rows.append(row)
    job_ids = [j.id for j in jobs]
    certs = (
        list(
            s.scalars(
                select(DeletionCertificate).where(
                    DeletionCertificate.tenant_id == tid,
                    col(DeletionCertificate.job_id).in_(job_ids),
                )
            )
        )
        if job_ids
        else []
    )
    items: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if job_ids:
        for item in s.scalars(select(DeletionItem).where(col(DeletionItem.job_id).in_(job_ids))):
            items.setdefault(item.job_id, []).append(item.public())
    notes_stmt = select(Notification).where(Notification.tenant_id == tid)
    if subject is not None:
        notes_stmt = notes_stmt.where(or_(col(Notification.asset_id).in_([a.id for a in assets])))
    return {
        "policies": [p.public() for p in policies],
        "assets": asset_rows,
        "deletion_jobs": [{**j.public(), "items": items.get(j.id, [])} for j in jobs],
        "certificates": [c.public() for c in certs],
        "workspaces": [w.public() for w in workspaces],
        "notifications": [n.public() for n in s.scalars(notes_stmt)],
        "audit_events": [e.public() for e in events],
    }
