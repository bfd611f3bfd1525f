"""Arcade statistics for a period, by mission type: volume, people, XP, quality, agreement, time.

Period ``[start, end)``: missions created in it, missions settled in it (and the answers of those,
for accuracy and kappa), answers completed in it (active users, time per mission, flags).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.arcade import consensus, permissions
from shifty_ent.arcade.mission_types import TYPES
from shifty_ent.arcade.tables import Answer, Mission
from shifty_ent.core.authz import authorize
from shifty_ent.core.clock import bounded_range

if TYPE_CHECKING:
    from shifty_ent.core.context import Context

DEFAULT_DAYS = 30


def period(ctx: Context, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    return bounded_range(start, end, now=ctx.now(), default_days=DEFAULT_DAYS)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def arcade_stats(
    ctx: Context, *, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    authorize(ctx, permissions.READ)
    t0, t1 = period(ctx, start, end)
    tid = ctx.tenant_id
    created: dict[str, int] = defaultdict(int)
    for (mtype,) in ctx.session.execute(
        select(col(Mission.type)).where(
            col(Mission.tenant_id) == tid,
            col(Mission.created_at) >= t0,
            col(Mission.created_at) < t1,
        )
    ):
        created[mtype] += 1
    settled = ctx.session.execute(
        select(
            col(Mission.id), col(Mission.type), col(Mission.status), col(Mission.agreement)
        ).where(
            col(Mission.tenant_id) == tid,
            col(Mission.settled_at) >= t0,
            col(Mission.settled_at) < t1,
            col(Mission.status).in_(("settled", "unresolved")),
        )
    ).all()
    settled_ids = {m.id for m in settled}
    # answers of missions settled in the period: accuracy, XP, kappa
    items: dict[Any, dict[str, str]] = defaultdict(dict)
    gold: dict[str, list[bool]] = defaultdict(list)
    xp: dict[str, int] = defaultdict(int)
    type_of = {m.id: m.type for m in settled}
    if settled_ids:
        for a in ctx.session.execute(
            select(
                col(Answer.mission_id),
                col(Answer.username),
                col(Answer.option),
                col(Answer.flagged),
                col(Answer.is_gold),
                col(Answer.correct),
                col(Answer.xp_awarded),
            ).where(
                col(Answer.tenant_id) == tid,
                col(Answer.settled_at) >= t0,
                col(Answer.settled_at) < t1,
            )
        ):
            if a.mission_id not in settled_ids:
                continue
            mtype = type_of[a.mission_id]
            xp[mtype] += a.xp_awarded
            if a.flagged:
                continue
            items[a.mission_id][a.username] = a.option
            if a.is_gold and a.correct is not None:
                gold[mtype].append(bool(a.correct))
    # answers completed in the period: people, time, flags
    users: dict[str, set[str]] = defaultdict(set)
    dwell: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, int] = defaultdict(int)
    flagged: dict[str, int] = defaultdict(int)
    for a in ctx.session.execute(
        select(
            col(Answer.mission_type),
            col(Answer.username),
            col(Answer.dwell_seconds),
            col(Answer.flagged),
        ).where(
            col(Answer.tenant_id) == tid,
            col(Answer.completed_at) >= t0,
            col(Answer.completed_at) < t1,
        )
    ):
        users[a.mission_type].add(a.username)
        dwell[a.mission_type].append(float(a.dwell_seconds))
        answers[a.mission_type] += 1
        flagged[a.mission_type] += int(a.flagged)

    def row(mtype: str, mids: list[Any], agreements: list[float], **extra: Any) -> dict[str, Any]:
        its = [items[m] for m in mids if m in items]
        kappa_f = consensus.fleiss_kappa([list(i.values()) for i in its])
        kappa_c, pairs = consensus.mean_pairwise_cohen(its)
        golds = extra.pop("golds")
        return {
            "type": mtype,
            "missions_created": extra.pop("created"),
            "missions_settled": sum(1 for m in mids if m in status_settled),
            "missions_unresolved": sum(1 for m in mids if m not in status_settled),
            "answers": extra.pop("answers"),
            "flagged_answers": extra.pop("flagged"),
            "active_users": extra.pop("users"),
            "xp_awarded": extra.pop("xp"),
            "gold_answers": len(golds),
            "accuracy": _r(sum(golds) / len(golds)) if golds else None,
            "agreement": _r(statistics.fmean(agreements)) if agreements else None,
            "fleiss_kappa": _r(kappa_f),
            "cohen_kappa": _r(kappa_c),
            "cohen_pairs": pairs,
            "median_seconds": _r(extra.pop("median"), 1),
        }

    status_settled = {m.id for m in settled if m.status == "settled"}
    by_type = []
    all_users: set[str] = set()
    for mtype in TYPES:
        mids = [m.id for m in settled if m.type == mtype]
        if not (created[mtype] or mids or answers[mtype]):
            continue
        all_users |= users[mtype]
        by_type.append(
            row(
                mtype,
                mids,
                [m.agreement for m in settled if m.type == mtype and m.agreement is not None],
                created=created[mtype],
                answers=answers[mtype],
                flagged=flagged[mtype],
                users=len(users[mtype]),
                xp=xp[mtype],
                golds=gold[mtype],
                median=statistics.median(dwell[mtype]) if dwell[mtype] else None,
            )
        )
    all_dwell = [d for v in dwell.values() for d in v]
    all_gold = [g for v in gold.values() for g in v]
    totals = {
        "missions_created": sum(created.values()),
        "missions_settled": len(status_settled),
        "missions_unresolved": len(settled) - len(status_settled),
        "answers": sum(answers.values()),
        "flagged_answers": sum(flagged.values()),
        "active_users": len(all_users),
        "xp_awarded": sum(xp.values()),
        "gold_answers": len(all_gold),
        "accuracy": _r(sum(all_gold) / len(all_gold)) if all_gold else None,
        "agreement": _r(statistics.fmean([m.agreement for m in settled if m.agreement is not None]))
        if any(m.agreement is not None for m in settled)
        else None,
        "median_seconds": _r(statistics.median(all_dwell), 1) if all_dwell else None,
    }
    return {"start": t0, "end": t1, "totals": totals, "by_type": by_type}
