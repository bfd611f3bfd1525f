"""Round trips and audit events of the hot path, ``next`` + ``complete`` (issue 5: throughput)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, func, select

from tests.arcade.conftest import T0, at


@contextmanager
def _statements(engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_next_and_complete_cost_few_statements_and_one_audit_event_each(
    arcade, make_context, monkeypatch
):
    from shifty_ent.arcade import missions
    from shifty_ent.core.tables import AuditEvent

    arcade.answer(arcade.create(overlap=1)["id"], "lars", "correct")  # profile and day exist
    m = arcade.create(overlap=1)
    with make_context(tenant="acme") as ctx:
        before = ctx.session.scalar(select(func.count()).select_from(AuditEvent))
    monkeypatch.setenv("SHIFTY_NOW", at(T0)["SHIFTY_NOW"])
    with make_context(tenant="acme", user="lars") as ctx, _statements(ctx.engine) as seen:
        lease = missions.next_mission(ctx)
        assert lease is not None and str(lease.mission.id) == m["id"]
        ctx.session.flush()
        n_next = len(seen)
    monkeypatch.setenv("SHIFTY_NOW", at(T0 + timedelta(seconds=30))["SHIFTY_NOW"])
    with make_context(tenant="acme", user="lars") as ctx, _statements(ctx.engine) as seen:
        done = missions.complete(ctx, m["id"], option="correct")
        assert done.settled and done.public()["xp_awarded"] > 0
        ctx.session.flush()
        n_complete = len(seen)
    with make_context(tenant="acme") as ctx:
        after = ctx.session.scalar(select(func.count()).select_from(AuditEvent))
    assert after - before == 2  # one audit event per command
    # service statements (role check and the audit append's 4 included); before: 11 and 30
    assert n_next <= 8, n_next
    assert n_complete <= 11, n_complete
    assert arcade.ok("mission", "show", m["id"], user="olga")["status"] == "settled"
