"""The data group's public API: the only module other groups and reports import from it.

Callers get frozen views (:class:`AssetView`, :class:`CertificateView`), never the ORM rows, so
nothing outside data changes an asset behind its retention rules. Reports that scan the data
tables in SQL read the tables re-exported at the bottom (read-only). The services are imported
inside the functions: ``model/tables.py`` imports this module for its foreign key target while
the store is still loading the tables, and must not pull the data services in with it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shifty_ent.core.views import view_of
from shifty_ent.data.tables import (
    Asset,
    DeletionCertificate,
    DeletionItem,
    DeletionJob,
    RetentionPolicy,
)

if TYPE_CHECKING:
    from shifty_ent.core.context import Context
    from shifty_ent.core.tables import Tenant


@dataclass(frozen=True)
class AssetView:
    """What other groups may know of a data asset."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    type: str
    classification: str
    location: str
    scheme: str
    status: str
    size_bytes: int | None
    sha256: str | None
    legal_hold: bool

    @property
    def active(self) -> bool:
        return self.status == "active"

    @classmethod
    def of(cls, asset: Asset) -> AssetView:
        return view_of(cls, asset)


@dataclass(frozen=True)
class CertificateView:
    """A stored deletion certificate: the signed document and what verifies it."""

    id: uuid.UUID
    job_id: uuid.UUID
    document: dict[str, Any]
    signature: str
    key_fingerprint: str
    public_key: str
    document_sha256: str

    @classmethod
    def of(cls, cert: DeletionCertificate) -> CertificateView:
        return view_of(cls, cert)


def register_asset(
    ctx: Context,
    *,
    name: str,
    type: str,
    classification: str,
    location: str,
    size_bytes: int | None = None,
    sha256: str | None = None,
) -> AssetView:
    """Register an asset of the acting tenant (role-checked and audited by the data service)."""
    from shifty_ent.data.assets import register_asset as _register

    return AssetView.of(
        _register(
            ctx,
            name=name,
            type=type,
            classification=classification,
            location=location,
            size_bytes=size_bytes,
            sha256=sha256,
        )
    )


def get_asset(ctx: Context, ref: str) -> AssetView:
    """An asset of the acting tenant by id, unique id prefix or name."""
    from shifty_ent.data.assets import get_asset as _get

    return AssetView.of(_get(ctx, ref))


def live_asset_at(ctx: Context, location: str) -> AssetView | None:
    """The acting tenant's live asset at ``location``, if one is registered there."""
    from shifty_ent.data.assets import live_asset_at as _live

    found = _live(ctx, location)
    return AssetView.of(found) if found is not None else None


def strictest_classification(*names: str | None) -> str:
    """The strictest of ``names`` in the order public < internal < confidential < restricted <
    pii < phi (a derived asset is as sensitive as the most sensitive thing it came from)."""
    from shifty_ent.data.tables import CLASSIFICATIONS

    known = [n for n in names if n in CLASSIFICATIONS]
    return max(known, key=CLASSIFICATIONS.index) if known else "internal"


def set_uses(ctx: Context, scope: str, uses: dict[uuid.UUID, str]) -> dict[str, list[str]]:
    """Replace the implicit holds ``scope`` (e.g. ``model``) keeps on the acting tenant's assets:
    asset id -> why it is in use. Held assets are neither swept nor erased."""
    from shifty_ent.data.uses import set_uses as _set

    return _set(ctx, scope, uses)


def in_use_reasons(ctx: Context, asset_id: uuid.UUID) -> list[str]:
    """Why an asset of the acting tenant is implicitly held (empty when it is not)."""
    from shifty_ent.data.uses import uses_of

    return [u.reason for u in uses_of(ctx, asset_id)]


def verify_certificate(cert: CertificateView, public_key_b64: str) -> tuple[bool, str]:
    """Check the certificate's signature against ``public_key_b64``: (ok, one-line reason)."""
    from shifty_ent.data import certificates

    return certificates.verify_certificate_document(
        certificates.export_document(cert), public_key_b64
    )


def root_paths_here(ctx: Context) -> list[str]:
    """The context tenant's data roots on this host: where its files may be written and erased."""
    from shifty_ent.data.roots import paths_on

    return list(paths_on(ctx.session, ctx.tenant_id, ctx.host.id))


def add_root(ctx: Context, tenant: Tenant, path: str) -> dict[str, Any]:
    """Give ``tenant`` the directory ``path`` on this host (the caller checked the permission);
    ``created`` says whether the directory was made for it (mode 0700)."""
    import os

    from shifty_ent.data import roots

    existed = os.path.lexists(roots.normalize(path, must_exist=False))
    row = roots.add_root(ctx.session, tenant, path, actor=ctx.actor, host=ctx.host)
    return {"tenant": tenant.name, **row.public(), "this_host": True, "created": not existed}


def remove_root(ctx: Context, tenant: Tenant, path: str, *, host: str | None) -> dict[str, Any]:
    from shifty_ent.data import roots

    row = roots.remove_root(ctx.session, tenant, path, actor=ctx.actor, host_id=host or ctx.host.id)
    return {"tenant": tenant.name, **row.public(), "this_host": row.host_id == ctx.host.id}


def list_roots(
    ctx: Context, tenant: Tenant | None, *, include_removed: bool = False
) -> list[dict[str, Any]]:
    from shifty_ent.data import roots

    return roots.list_roots(
        ctx.session, actor=ctx.actor, host=ctx.host, tenant=tenant, include_removed=include_removed
    )


def default_archive_retention_days() -> int:
    """How long a pre-deletion archive is kept when no policy says (reports show it)."""
    from shifty_ent.data.archive import DEFAULT_ARCHIVE_RETENTION_DAYS

    return DEFAULT_ARCHIVE_RETENTION_DAYS


__all__ = [
    "Asset",
    "AssetView",
    "CertificateView",
    "DeletionCertificate",
    "DeletionItem",
    "DeletionJob",
    "RetentionPolicy",
    "add_root",
    "default_archive_retention_days",
    "get_asset",
    "in_use_reasons",
    "list_roots",
    "live_asset_at",
    "register_asset",
    "remove_root",
    "root_paths_here",
    "set_uses",
    "strictest_classification",
    "verify_certificate",
]
