"""The streaming chain verifier (core.audit_walk, behind `report audit verify` and access_audit)
agrees with a plain RFC 8785 recomputation of every event: it accepts every honest chain (floats,
unicode, nesting, rows stored by older versions) and names the same first bad event after
tampering."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from shifty_ent.core import audit, store
from shifty_ent.core import audit_walk as chain
from shifty_ent.core.tables import AuditEvent
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


def _reference(session, tenant_id) -> tuple[bool, int | None]:
    """The chain check written the slow, obvious way: ORM rows, RFC 8785 per event."""
    chain_id = audit.chain_of(tenant_id)
    expected, prev = 1, audit.GENESIS
    for ev in audit.iter_events(session, chain_id):
        if ev.seq != expected:
            return False, expected
        digest = audit.event_hash(
            chain=chain_id,
            seq=ev.seq,
            at=ev.at,
            actor=ev.actor,
            action=ev.action,
            target_type=ev.target_type,
            target_id=ev.target_id,
            details=ev.details,
            prev_hash=ev.prev_hash,
            v=ev.v,
            tenant_id=str(ev.tenant_id) if ev.tenant_id else None,
        )
        if ev.prev_hash != prev or digest != ev.hash:
            return False, ev.seq
        prev, expected = ev.hash, expected + 1
    return True, None


def _walk(engine, tenant_id):
    status = chain.ChainStatus(chain=audit.chain_of(tenant_id))
    with snapshot(engine) as s:
        pages = chain.walk_pages(s, audit.chain_of(tenant_id), status, page=3)
        events = [event for page in pages for event in page]
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
        assert _reference(s, tid) == (True, None)
    assert status.ok is core.ok is True, status.problem
    assert status.events == core.events == len(events) and status.head_seq == core.head_seq
    assert [chain.load_details(e[6]) for e in events][-len(payloads) :] == [
        audit._storable(d) for d in payloads
    ]


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
            assert _reference(s, tid) == (False, 7)
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


def test_details_are_hashed_as_stored_and_old_rows_still_verify(db_url, tenant, make_context):
    """New events need no re-encoding (SQLite stores the hashed text); rows written with other
    JSON spacing (older versions, hand edits that keep the meaning) still verify."""
    tid = uuid.UUID(tenant["id"])
    with make_context(tenant="acme") as ctx:
        for i in range(5):
            ctx.audit("data.asset.read", details={"b": i, "a": "é", "nested": {"z": [1, 2]}})
    engine = store.get_engine(db_url)
    status, events = _walk(engine, tid)
    assert status.ok and status.fallback_hashes == 0
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            raw = conn.exec_driver_sql(
                "SELECT details FROM audit_events WHERE chain = ? ORDER BY seq DESC LIMIT 1",
                (str(tid),),
            ).scalar_one()
            assert raw == '{"a":"é","b":4,"nested":{"z":[1,2]}}'
            conn.exec_driver_sql(
                "UPDATE audit_events SET details = ? WHERE chain = ? AND seq = ?",
                ('{"nested": {"z": [1, 2]}, "b": 4, "a": "\\u00e9"}', str(tid), events[-1][0]),
            )
        status, events = _walk(engine, tid)
        assert status.ok and status.fallback_hashes == 0, status.problem
        assert chain.load_details(events[-1][6]) == {"a": "é", "b": 4, "nested": {"z": [1, 2]}}


def test_times_stored_in_another_text_form_still_verify(db_url, tenant, make_context):
    """SQLite formats the stored time in the query; a time written in another form (a hand edit
    that keeps the instant) falls back to Python and still verifies, while another instant is a
    change at that event."""
    tid = uuid.UUID(tenant["id"])
    with make_context(tenant="acme") as ctx:
        for i in range(4):
            ctx.audit("data.asset.read", details={"i": i})
    engine = store.get_engine(db_url)
    status, events = _walk(engine, tid)
    assert status.ok
    if engine.dialect.name != "sqlite":
        return
    seq, at_iso = events[-2][0], events[-2][1]
    moment = datetime.fromisoformat(at_iso)
    for stored, same in (
        (moment.replace(tzinfo=None).isoformat(), True),  # "T" and no fraction written out
        (moment.isoformat(), True),  # with its offset
        ((moment + timedelta(seconds=1)).replace(tzinfo=None).isoformat(" "), False),
    ):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "UPDATE audit_events SET at = ? WHERE chain = ? AND seq = ?",
                (stored, str(tid), seq),
            )
        status, walked = _walk(engine, tid)
        assert status.ok is same, (stored, status.problem)
        assert [e[1] for e in walked] == [
            e[1] if same or e[0] != seq else chain.iso_utc(stored) for e in events
        ]
        if not same:
            assert status.first_bad_seq == seq and "changed" in status.problem


def test_collector_is_paused_only_during_a_walk():
    """The walk pauses the cyclic collector for speed and always gives back the state it found,
    also when the walk fails."""
    import gc

    import pytest

    from shifty_ent.core import collector

    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        assert not gc.isenabled()
        raise RuntimeError("walk failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
