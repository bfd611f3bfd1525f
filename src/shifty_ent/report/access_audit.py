"""``access_audit``: who read or changed classified data, from the tenant's audit chain.

The chain is walked once, from genesis to head, verifying every hash on the way (a report over a
tampered store says so, naming the first bad event); events inside the period that touch classified
data (confidential, restricted, pii, phi) become rows. An event touches classified data when its
details name such a classification, when it reports classified assets it listed, or when its target
is a data asset of such a classification (looked up in batches, so memory stays flat).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shifty_ent.core import audit
from shifty_ent.core import audit_walk as chain
from shifty_ent.report.document import Column, ReportBuilder
from shifty_ent.report.period import Period
from shifty_ent.report.sources import group_available

TITLE = "Access audit: classified data"
ROLES = ("auditor",)
CLASSIFIED = frozenset({"confidential", "restricted", "pii", "phi"})
READ_VERBS = frozenset(
    {"read", "show", "list", "export", "view", "download", "get", "search", "access", "inspect"}
)
ASSET_TARGETS = frozenset({"asset", "data_asset"})
BATCH = 2000

COLUMNS = [
    Column("seq", "Seq", "int"),
    Column("at", "Time (UTC)", "time"),
    Column("actor", "User"),
    Column("access", "Access"),
    Column("action", "Action"),
    Column("classification", "Classification"),
    Column("target_type", "Target type"),
    Column("target_id", "Target", "id"),
    Column("hash", "Event hash", "hash"),
]


def access_kind(action: str) -> str:
    """``read`` for actions that disclose data, ``change`` for everything else."""
    verb = action.rsplit(".", 1)[-1]
    return "read" if verb in READ_VERBS or verb.startswith("export") else "change"


def _hinted_text(text: str) -> str | None:
    """:func:`_hinted` of an event's details JSON, parsed only when it holds a key that matters
    (most events' details do not, and parsing is the costly part)."""
    # '"classifi' covers "classification", "classifications" and "classified_assets"
    if '"classifi' not in text and '"asset_classifications"' not in text:
        return None
    return _hinted(chain.load_details(text))


def _hinted(details: dict[str, Any]) -> str | None:
    """The classification an event's details name: a classified one (highest-risk first), ``""``
    when they name only unclassified data, None when they say nothing about it."""
    value = details.get("classification")
    if "classifications" not in details and "asset_classifications" not in details:
        if value is None:
            return "classified" if details.get("classified_assets") else None
        return value if value in CLASSIFIED else ""  # type: ignore[return-value]
    found: list[str] = []
    if isinstance(value, str):
        found.append(value)
    for key in ("classifications", "asset_classifications"):
        many = details.get(key)
        if isinstance(many, list):
            found.extend(v for v in many if isinstance(v, str))
        elif isinstance(many, dict):
            found.extend(str(k) for k, n in many.items() if n)
    classified = [c for c in found if c in CLASSIFIED]
    if classified:
        order = ("phi", "pii", "restricted", "confidential")
        return min(classified, key=lambda c: order.index(c))
    return ""


class _AssetClasses:
    """Classification of data assets by id, looked up a page at a time (one IN query)."""

    def __init__(self, session: Session, tenant_id: Any) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.stmt = None
        if group_available("data"):
            from shifty_ent.data.tables import Asset

            self.stmt = select(Asset.id, Asset.classification).where(
                Asset.tenant_id == tenant_id,
                Asset.id.in_(bindparam("ids", expanding=True)),  # type: ignore[attr-defined]
            )

    def lookup(self, ids: set[str]) -> dict[str, str]:
        if not ids or self.stmt is None:
            return {}
        wanted = []
        for raw in ids:
            try:
                wanted.append(uuid.UUID(raw))
            except ValueError:
                continue
        if not wanted:
            return {}
        rows = self.session.execute(self.stmt, {"ids": wanted}).all()
        return {str(r[0]): r[1] for r in rows}


def _classified_events(
    session: Session, tenant_id: Any, period: Period, status: chain.ChainStatus
) -> Iterator[list[tuple[chain.Event, str]]]:
    """Per chain page: (event, classification) for period events on classified data."""
    assets = _AssetClasses(session, tenant_id)
    start, end = period.start.isoformat(), period.end.isoformat()
    hinted = _hinted_text
    for events in chain.walk_pages(session, audit.chain_of(tenant_id), status):
        found: list[tuple[chain.Event, str]] = []
        unknown: list[chain.Event] = []
        for event in events:
            if start <= event[1] < end:
                hint = hinted(event[6])
                if hint:
                    found.append((event, hint))
                elif hint is None and event[4] in ASSET_TARGETS and event[5]:
                    unknown.append(event)
        if unknown:
            classes = assets.lookup({e[5] for e in unknown})  # type: ignore[misc]
            for e in unknown:
                cls = classes.get(e[5])  # type: ignore[arg-type]
                if cls in CLASSIFIED:
                    found.append((e, cls))  # type: ignore[arg-type]
            found.sort(key=lambda pair: pair[0][0])
        yield found


def build(session: Session, tenant_id: Any, period: Period, doc: ReportBuilder) -> None:
    status = chain.ChainStatus(chain=audit.chain_of(tenant_id))
    per_user: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "reads": 0,
            "changes": 0,
            "classifications": Counter(),
            "first": None,
            "last": None,
        }
    )
    per_day: Counter[str] = Counter()
    section, add = doc.open_section(
        "classified_access",
        "Reads and changes of classified data",
        COLUMNS,
        "Every audit event in the period that read or changed confidential, restricted, PII or "
        "PHI data, in chain order.",
    )
    reads = changes = 0
    first_seq = last_seq = None
    kinds: dict[str, str] = {}
    for page in _classified_events(session, tenant_id, period, status):
        for (seq, at_iso, actor, action, ttype, tid, _details, digest), cls in page:
            kind = kinds.get(action)
            if kind is None:
                kind = kinds[action] = access_kind(action)
            add(
                {
                    "seq": seq,
                    "at": at_iso,
                    "actor": actor,
                    "access": kind,
                    "action": action,
                    "classification": cls,
                    "target_type": ttype,
                    "target_id": tid,
                    "hash": digest,
                }
            )
            user = per_user[actor]
            if kind == "read":
                reads += 1
                user["reads"] += 1
            else:
                changes += 1
                user["changes"] += 1
            user["classifications"][cls] += 1
            user["first"] = user["first"] or at_iso
            user["last"] = at_iso
            per_day[at_iso[:10]] += 1
            first_seq = first_seq or seq
            last_seq = seq
    doc.summary.update(
        {
            "chain_intact": status.ok,
            "chain_events_verified": status.events,
            "chain_head_seq": status.head_seq,
            "first_bad_seq": status.first_bad_seq,
            "chain_problem": status.problem,
            "classified_accesses": section.row_count,
            "reads": reads,
            "changes": changes,
            "users": len(per_user),
            "first_seq_in_period": first_seq,
            "last_seq_in_period": last_seq,
        }
    )
    doc.notes.append(
        "The audit chain was verified from its first event to its head at generation time: "
        + (
            "every event's hash recomputes and links to the one before."
            if status.ok
            else f"it is BROKEN at event {status.first_bad_seq}: {status.problem}. "
            "Events after that point cannot be trusted."
        )
    )
    doc.section(
        "by_user",
        "Per user",
        [
            Column("actor", "User"),
            Column("reads", "Reads", "int"),
            Column("changes", "Changes", "int"),
            Column("classifications", "Classifications"),
            Column("first_at", "First (UTC)", "time"),
            Column("last_at", "Last (UTC)", "time"),
        ],
        (
            {
                "actor": actor,
                "reads": v["reads"],
                "changes": v["changes"],
                "classifications": ", ".join(
                    f"{k} {n}" for k, n in sorted(v["classifications"].items())
                ),
                "first_at": v["first"],
                "last_at": v["last"],
            }
            for actor, v in sorted(per_user.items())
        ),
    )
    doc.chart(
        "classified_access_per_day",
        "Classified-data accesses per day",
        "events",
        [(d.isoformat(), float(per_day.get(d.isoformat(), 0))) for d in period.day_list()]
        if period.days <= 400
        else sorted((k, float(v)) for k, v in per_day.items()),
    )
