"""``access_audit``: who read or changed classified data, from the tenant's audit chain.

The chain is walked once, from genesis to head, verifying every hash on the way (a report over a
tampered store says so, naming the first bad event); events inside the period that touch classified
data (confidential, restricted, pii, phi) become rows. An event touches classified data when its
details name such a classification, when it reports classified assets it listed, or when its target
is a data asset of such a classification (looked up in batches, so memory stays flat).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.core import audit, collector
from shifty_ent.core import audit_walk as chain
from shifty_ent.report.document import GOOD_IF_TRUE, Column, ReportBuilder, Section, ValuesWriter
from shifty_ent.report.period import Period
from shifty_ent.report.sources import group_available

TITLE = "Access audit: classified data"
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
    # The common case without parsing: a flat object (its only "{" opens it) naming one
    # "classification" string. In JSON text '"classification":"' can only be a key (inside a
    # string its quotes would be escaped), and a flat object's keys are all top level.
    if text.count("{") == 1 and '"classifications"' not in text and "_classifications" not in text:
        at = text.find('"classification":"')
        if at > 0:
            value = text[at + 18 : text.find('"', at + 18)]
            if "\\" not in value:
                return value if value in CLASSIFIED else ""
    return _hinted(chain.load_details(text))


def _hinted(details: dict[str, Any]) -> str | None:
    """The classification an event's details name: a classified one (highest-risk first), ``""``
    when they name only unclassified data, None when they say nothing about it."""
    value = details.get("classification")
    if "classifications" not in details and "asset_classifications" not in details:
        if value is None:
            return "classified" if details.get("classified_assets") else None
        return value if isinstance(value, str) and value in CLASSIFIED else ""
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
            from shifty_ent.data.api import Asset

            self.stmt = select(col(Asset.id), col(Asset.classification)).where(
                Asset.tenant_id == tenant_id,
                col(Asset.id).in_(bindparam("ids", expanding=True)),
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
    session: Session,
    tenant_id: Any,
    period: Period,
    status: chain.ChainStatus,
    *,
    after: int = 0,
    upto: int | None = None,
) -> Iterator[list[tuple[chain.Event, str]]]:
    """Per chain page: (event, classification) for period events on classified data."""
    assets = _AssetClasses(session, tenant_id)
    start, end = period.start.isoformat(), period.end.isoformat()
    hinted = _hinted_text
    pages = chain.walk_pages(session, audit.chain_of(tenant_id), status, after=after, upto=upto)
    for events in pages:
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
            classes = assets.lookup({e[5] for e in unknown})  # type: ignore[misc]  # target ids of asset events are str
            for e in unknown:
                cls = classes.get(e[5])  # type: ignore[arg-type]  # target ids of asset events are str
                if cls in CLASSIFIED:
                    found.append((e, cls))
            found.sort(key=lambda pair: pair[0][0])
        yield found


@dataclass
class _Tally:
    """What the summary and the per-user section need, counted while rows stream by (a few
    dict updates a row); parts of the chain counted in parallel are merged in chain order."""

    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (actor, kind, class)
    first_at: dict[str, str] = field(default_factory=dict)
    last_at: dict[str, str] = field(default_factory=dict)
    per_day: dict[str, int] = field(default_factory=dict)

    def consume(self, pages: Iterator[list[tuple[chain.Event, str]]], add: ValuesWriter) -> None:
        kinds: dict[str, str] = {}
        counts, per_day = self.counts, self.per_day
        first_at, last_at = self.first_at, self.last_at
        rows, last_seq = self.rows, self.last_seq
        for page in pages:
            for (seq, at_iso, actor, action, ttype, tid, _det, _prev, digest, _form), cls in page:
                kind = kinds.get(action)
                if kind is None:
                    kind = kinds[action] = access_kind(action)
                add((seq, at_iso, actor, kind, action, cls, ttype, tid, digest))  # COLUMNS
                key = (actor, kind, cls)
                counts[key] = counts.get(key, 0) + 1
                if actor not in first_at:
                    first_at[actor] = at_iso
                last_at[actor] = at_iso
                day = at_iso[:10]
                per_day[day] = per_day.get(day, 0) + 1
                if last_seq is None:
                    self.first_seq = seq
                last_seq = seq
                rows += 1
        self.rows, self.last_seq = rows, last_seq

    def merge(self, later: _Tally) -> None:
        """Add the counts of a part that comes after this one in the chain."""
        self.rows += later.rows
        self.first_seq = self.first_seq if self.first_seq is not None else later.first_seq
        self.last_seq = later.last_seq if later.last_seq is not None else self.last_seq
        for key, n in later.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        for day, n in later.per_day.items():
            self.per_day[day] = self.per_day.get(day, 0) + n
        for actor, at in later.first_at.items():
            self.first_at.setdefault(actor, at)
        self.last_at.update(later.last_at)

    def total(self, kind: str) -> int:
        return sum(n for (_, k, _), n in self.counts.items() if k == kind)

    def per_user(self) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        for (actor, kind, cls), n in self.counts.items():
            user = users.setdefault(
                actor,
                {
                    "reads": 0,
                    "changes": 0,
                    "classifications": Counter(),
                    "first": self.first_at[actor],
                    "last": self.last_at[actor],
                },
            )
            user["reads" if kind == "read" else "changes"] += n
            user["classifications"][cls] += n
        return users


# ------------------------------------------------------------------ parallel parts
#
# A million-event chain is split into contiguous parts walked by a ProcessPoolExecutor's worker
# processes (each verifies, classifies and renders its own part into a spool file, and returns
# its status and counts), while this process walks
# the first part. Each part verifies every hash inside it; the joins are checked here (a part's
# first link must be the previous part's last hash) and the last part ends on the head read in
# the report's snapshot, so the parts together prove exactly what one walk would. Events up to
# that head never change (the chain is append-only), so the parts' own snapshots agree on them,
# and a store changed between two parts' reads shows up as a broken join.

PARALLEL_MIN_EVENTS = 200_000
WORKER_START_EVENTS = 50_000  # about what one process walks while a worker starts


def _env_count(name: str, default: int) -> int:
    """A whole number from the environment; anything else there is an error, not ignored."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        from shifty_ent.core.errors import InvalidInput

        raise InvalidInput(f"{name}: {raw!r} is not a whole number")
    return int(raw)


def _processes() -> int:
    """Processes that walk a long chain: ``SHIFTY_REPORT_PROCESSES``, else the CPUs (up to 4)."""
    return max(1, _env_count("SHIFTY_REPORT_PROCESSES", min(os.cpu_count() or 1, 4)))


def _min_events() -> int:
    return _env_count("SHIFTY_REPORT_PARALLEL_MIN", PARALLEL_MIN_EVENTS)


def _shareable(session: Session) -> bool:
    """Whether other processes can open this store (not an in-memory SQLite database)."""
    url = session.connection().engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def _plan(head_seq: int) -> list[tuple[int, int]]:
    """(after, upto) of each part, in chain order; one part for short chains."""
    n = _processes()
    if n < 2 or head_seq < max(_min_events(), 2 * n):
        return [(0, head_seq)]
    # this process walks the first part while each worker is still starting (a fresh
    # interpreter importing the store takes a while), so it takes a little more
    lead = min(head_seq // (4 * n), WORKER_START_EVENTS)
    size = (head_seq - lead) // n
    cuts = [0] + [lead + i * size for i in range(1, n)] + [head_seq]
    return [(cuts[i], cuts[i + 1]) for i in range(n)]


@dataclass
class _Part:
    after: int
    upto: int
    status: chain.ChainStatus
    tally: _Tally
    spool: str | None  # None: rendered straight into the section by this process


def _walk_part(
    url: str, tenant_id: str, period: Period, fmt: str, after: int, upto: int, spool: str
) -> _Part:
    """One part, in a worker process: its own engine and snapshot, rows rendered into ``spool``."""
    from shifty_ent.core import store
    from shifty_ent.report.render import get_renderer
    from shifty_ent.report.sources import snapshot

    tid = uuid.UUID(tenant_id)
    status = chain.ChainStatus(chain=audit.chain_of(tid))
    tally = _Tally()
    section = Section("classified_access", "", COLUMNS)
    engine = store.get_engine(url)
    try:
        with (
            open(spool, "w", encoding="utf-8", newline="") as fh,
            snapshot(engine) as snap,
            collector.paused(),
        ):
            write = get_renderer(fmt).values_writer(section, fh)
            events = _classified_events(snap, tid, period, status, after=after, upto=upto)
            tally.consume(events, write)
    finally:
        engine.dispose()
    return _Part(after, upto, status, tally, spool)


def _pool(workers: int) -> ProcessPoolExecutor:
    """Fresh interpreters (spawn), never forks: a forked child would share this process's open
    database handles. They import the caller's main module without running it, as every
    ``multiprocessing`` child does (the ``shifty-ent`` entry points are guarded)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))


def _start_part(
    pool: ProcessPoolExecutor,
    url: str,
    tenant_id: Any,
    period: Period,
    fmt: str,
    after: int,
    upto: int,
    spool: str,
) -> Future[_Part]:
    # the arguments travel over the pool's pipe, never argv: the URL may hold a password
    return pool.submit(_walk_part, url, str(tenant_id), period, fmt, after, upto, spool)


def _finish_part(future: Future[_Part]) -> _Part:
    try:
        return future.result()
    except Exception as exc:  # the worker's own error, or BrokenProcessPool if it died
        from shifty_ent.core.errors import ShiftyError

        lines = (str(exc) or type(exc).__name__).strip().splitlines() or [""]
        why = f"{type(exc).__name__}: {lines[0]}"
        raise ShiftyError(f"a worker checking part of the audit chain failed: {why}") from None


def _walk_parallel(
    session: Session,
    tenant_id: Any,
    period: Period,
    doc: ReportBuilder,
    section: Section,
    add: ValuesWriter,
    plan: list[tuple[int, int]],
) -> tuple[chain.ChainStatus, _Tally]:
    """Workers walk every part but the first, which this process walks meanwhile into the
    section's own spool; then the joins are checked and the counts merged in chain order."""
    import tempfile

    url = session.connection().engine.url.render_as_string(hide_password=False)
    status = chain.ChainStatus(chain=audit.chain_of(tenant_id))
    tally = _Tally()
    spools: list[str] = []
    pool = _pool(len(plan) - 1)
    done = False
    try:
        futures = []
        for after, upto in plan[1:]:
            fd, path = tempfile.mkstemp(prefix="shifty-report-part-")
            os.close(fd)
            spools.append(path)
            fmt = doc.renderer.ext  # a pdf is printed from html rows
            futures.append(_start_part(pool, url, tenant_id, period, fmt, after, upto, path))
        first = chain.ChainStatus(chain=status.chain)
        tally.consume(_classified_events(session, tenant_id, period, first, upto=plan[0][1]), add)
        parts = [_Part(0, plan[0][1], first, tally, None)]
        parts += [_finish_part(f) for f in futures]
        status.head_seq, status.head_hash = first.head_seq, first.head_hash
        previous: str | None = chain.GENESIS
        for part in parts:
            st = part.status
            joined = part.after == 0 or st.first_prev is None or st.first_prev == previous
            if not joined and st.first_bad_seq != part.after + 1:  # (a gap there says more)
                status.fail(
                    part.after + 1, f"event {part.after + 1} does not link to event {part.after}"
                )
            if not st.ok:
                status.fail(st.first_bad_seq or part.after + 1, st.problem or "broken")
            status.events += st.events
            status.fallback_hashes += st.fallback_hashes
            previous = st.last_hash
            if part.spool is not None:
                tally.merge(part.tally)
                section.append_spool(part.spool, part.tally.rows)
        if status.ok and previous != status.head_hash:
            status.fail(status.head_seq, f"event {status.head_seq} is not the chain's head")
        done = True
    finally:
        kill = getattr(pool, "kill_workers", None)  # Python 3.14+; before, running parts finish
        if not done and kill is not None:  # interrupted or failed: stop the others
            kill()
        pool.shutdown(wait=True, cancel_futures=True)
        for path in spools:
            Path(path).unlink(missing_ok=True)
    return status, tally


def build(session: Session, tenant_id: Any, period: Period, doc: ReportBuilder) -> None:
    section, add = doc.open_values_section(
        "classified_access",
        "Reads and changes of classified data",
        COLUMNS,
        "Every audit event in the period that read or changed confidential, restricted, PII or "
        "PHI data, in chain order.",
    )
    head_seq, _ = audit.head_of(session, tenant_id)
    plan = _plan(head_seq) if _shareable(session) else [(0, head_seq)]
    with collector.paused():
        if len(plan) > 1:
            status, tally = _walk_parallel(session, tenant_id, period, doc, section, add, plan)
        else:
            status = chain.ChainStatus(chain=audit.chain_of(tenant_id))
            tally = _Tally()
            tally.consume(_classified_events(session, tenant_id, period, status), add)
    reads, changes = tally.total("read"), tally.total("change")
    per_user, per_day = tally.per_user(), tally.per_day
    first_seq, last_seq = tally.first_seq, tally.last_seq
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
    doc.summary_judge["chain_intact"] = GOOD_IF_TRUE
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
        empty="No classified data was read or changed in this period.",
    )
