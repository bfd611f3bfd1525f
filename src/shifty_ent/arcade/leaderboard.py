"""Leaderboards, served from ``arcade_profiles`` through its indexes (never from answers).

Each board is one ``ORDER BY <indexed column> DESC LIMIT n`` over the tenant's profiles:
``xp_all_time`` (xp), ``xp_weekly`` (xp_week for the current Monday-UTC week), ``missions``
(missions_completed), ``accuracy`` (gold accuracy, only users with at least
:data:`~shifty_ent.arcade.progression.MIN_GOLD_RANKED` gold answers), ``streak`` (current streak
in each user's own time zone). Ties rank by user name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.arcade import permissions, progression
from shifty_ent.arcade.tables import Profile
from shifty_ent.core.authz import authorize
from shifty_ent.core.errors import InvalidInput

if TYPE_CHECKING:
    from shifty_ent.core.context import Context

BOARDS = ("xp_all_time", "xp_weekly", "missions", "accuracy", "streak")
MAX_LIMIT = 1000


def leaderboard(
    ctx: Context, *, board: str = "xp_all_time", limit: int = 10, min_gold: int | None = None
) -> list[dict[str, Any]]:
    authorize(ctx, permissions.READ)
    if board not in BOARDS:
        raise InvalidInput(f"unknown leaderboard {board!r}; choose from {', '.join(BOARDS)}")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"--limit must be between 1 and {MAX_LIMIT}")
    base = select(Profile).where(col(Profile.tenant_id) == ctx.tenant_id)
    now = ctx.now()
    if board == "xp_all_time":
        stmt = base.where(col(Profile.xp) > 0).order_by(
            col(Profile.xp).desc(), col(Profile.username)
        )
        rows = _fetch(ctx, stmt, limit)
        return _ranked(board, rows, lambda p: p.xp)
    if board == "xp_weekly":
        stmt = base.where(
            col(Profile.week_start) == progression.week_start(now), col(Profile.xp_week) > 0
        ).order_by(col(Profile.xp_week).desc(), col(Profile.username))
        return _ranked(board, _fetch(ctx, stmt, limit), lambda p: p.xp_week)
    if board == "missions":
        stmt = base.where(col(Profile.missions_completed) > 0).order_by(
            col(Profile.missions_completed).desc(), col(Profile.username)
        )
        return _ranked(board, _fetch(ctx, stmt, limit), lambda p: p.missions_completed)
    if board == "accuracy":
        need = max(progression.MIN_GOLD_RANKED, min_gold or 0)
        stmt = base.where(col(Profile.ranked_accuracy).is_not(None)).order_by(
            col(Profile.ranked_accuracy).desc(),
            col(Profile.gold_answers).desc(),
            col(Profile.username),
        )
        if need > progression.MIN_GOLD_RANKED:
            stmt = stmt.where(col(Profile.gold_answers) >= need)
        return _ranked(board, _fetch(ctx, stmt, limit), lambda p: round(p.ranked_accuracy, 4))
    # streak: the stored run is current only if its last day is today or yesterday locally;
    # read down the index and keep the live ones (a streak alive anywhere ends >= UTC today - 2)
    cutoff = now.date() - timedelta(days=2)
    stmt = base.where(
        col(Profile.streak_days) > 0, col(Profile.last_active_day) >= cutoff
    ).order_by(col(Profile.streak_days).desc(), col(Profile.username))
    out: list[Profile] = []
    offset = 0
    page = max(limit * 2, 50)
    while len(out) < limit:
        chunk = list(ctx.session.scalars(stmt.offset(offset).limit(page)).all())
        if not chunk:
            break
        tzs = progression.timezones(ctx, [p.username for p in chunk])
        out += [p for p in chunk if progression.current_streak(p, tzs[p.username], now) > 0]
        offset += page
    return _ranked(board, out[:limit], lambda p: p.streak_days)


def _fetch(ctx: Context, stmt: Any, limit: int) -> list[Profile]:
    return list(ctx.session.scalars(stmt.limit(limit)).all())


def _ranked(board: str, rows: list[Profile], value: Any) -> list[dict[str, Any]]:
    out = []
    rank = 0
    prev = object()
    for i, p in enumerate(rows, start=1):
        v = value(p)
        if v != prev:
            rank, prev = i, v
        out.append(
            {
                "rank": rank,
                "user": p.username,
                "board": board,
                "value": v,
                "xp": p.xp,
                "level": p.level,
                "missions_completed": p.missions_completed,
                "gold_answers": p.gold_answers,
            }
        )
    return out
