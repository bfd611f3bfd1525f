"""``report arcade``: missions, settled answers, accuracy, agreement, XP and top users.

Accuracy is the share of settled answers marked correct (against gold where a mission has one,
else against the consensus); agreement is the settled missions' mean agreement. XP is what was
awarded in the period (after the daily cap). All figures are SQL aggregates over the period.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.report.document import Column, ReportBuilder
from shifty_ent.report.period import Period

TITLE = "HITL arcade: missions, quality and contributors"
TOP = 10


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def build(session: Session, tenant_id: uuid.UUID, period: Period, doc: ReportBuilder) -> None:
    from shifty_ent.arcade.api import Answer, Dataset, Mission, Profile

    t0, t1 = period.start, period.end
    created = dict(
        session.execute(
            select(col(Mission.type), func.count())
            .where(
                col(Mission.tenant_id) == tenant_id,
                col(Mission.created_at) >= t0,
                col(Mission.created_at) < t1,
            )
            .group_by(Mission.type)
        ).all()
    )
    settled_rows = session.execute(
        select(
            col(Mission.type),
            func.sum(case((col(Mission.status) == "settled", 1), else_=0)),
            func.sum(case((col(Mission.status) == "unresolved", 1), else_=0)),
            func.avg(col(Mission.agreement)),
        )
        .where(
            col(Mission.tenant_id) == tenant_id,
            col(Mission.settled_at) >= t0,
            col(Mission.settled_at) < t1,
        )
        .group_by(col(Mission.type))
    ).all()
    settled = {t: (int(s or 0), int(u or 0), a) for t, s, u, a in settled_rows}
    answers_rows = session.execute(
        select(
            col(Answer.mission_type),
            func.count(),
            func.sum(case((col(Answer.flagged).is_(True), 1), else_=0)),
            func.sum(case((col(Answer.correct).is_(True), 1), else_=0)),
            func.sum(case((col(Answer.correct).is_not(None), 1), else_=0)),
            func.coalesce(func.sum(col(Answer.xp_awarded)), 0),
            func.count(func.distinct(col(Answer.username))),
        )
        .where(
            col(Answer.tenant_id) == tenant_id,
            col(Answer.completed_at) >= t0,
            col(Answer.completed_at) < t1,
        )
        .group_by(col(Answer.mission_type))
    ).all()
    answers = {r[0]: r[1:] for r in answers_rows}
    open_now = dict(
        session.execute(
            select(col(Mission.type), func.count())
            .where(col(Mission.tenant_id) == tenant_id, col(Mission.status) == "open")
            .group_by(Mission.type)
        ).all()
    )
    types = sorted(set(created) | set(settled) | set(answers) | set(open_now))
    rows = []
    tot = {
        "created": 0,
        "settled": 0,
        "unresolved": 0,
        "answers": 0,
        "flagged": 0,
        "correct": 0,
        "judged": 0,
        "xp": 0,
    }
    agreements = []
    for t in types:
        s, u, agr = settled.get(t, (0, 0, None))
        n, flagged, correct, judged, xp, _users = answers.get(t, (0, 0, 0, 0, 0, 0))
        n, flagged, correct, judged, xp = (int(x or 0) for x in (n, flagged, correct, judged, xp))
        rows.append(
            {
                "mission_type": t,
                "created": int(created.get(t, 0)),
                "open_now": int(open_now.get(t, 0)),
                "settled": s,
                "unresolved": u,
                "mean_agreement": round(float(agr), 3) if agr is not None else None,
                "answers": n,
                "flagged": flagged,
                "accuracy_pct": _pct(correct, judged),
                "xp_awarded": xp,
            }
        )
        for key, val in (
            ("created", int(created.get(t, 0))),
            ("settled", s),
            ("unresolved", u),
            ("answers", n),
            ("flagged", flagged),
            ("correct", correct),
            ("judged", judged),
            ("xp", xp),
        ):
            tot[key] += val
        if agr is not None and s:
            agreements.append((float(agr), s))
    doc.section(
        "per_type",
        "Per mission type",
        [
            Column("mission_type", "Mission type"),
            Column("created", "Created", "int"),
            Column("open_now", "Open now", "int"),
            Column("settled", "Settled", "int"),
            Column("unresolved", "Unresolved", "int"),
            Column("mean_agreement", "Mean agreement"),
            Column("answers", "Answers", "int"),
            Column("flagged", "Flagged", "int"),
            Column("accuracy_pct", "Accuracy %", "pct"),
            Column("xp_awarded", "XP awarded", "int"),
        ],
        rows,
    )
    top = session.execute(
        select(
            col(Answer.username),
            func.count(),
            func.sum(case((col(Answer.correct).is_(True), 1), else_=0)),
            func.sum(case((col(Answer.correct).is_not(None), 1), else_=0)),
            func.coalesce(func.sum(col(Answer.xp_awarded)), 0),
        )
        .where(
            col(Answer.tenant_id) == tenant_id,
            col(Answer.completed_at) >= t0,
            col(Answer.completed_at) < t1,
        )
        .group_by(col(Answer.username))
        .order_by(func.coalesce(func.sum(col(Answer.xp_awarded)), 0).desc(), col(Answer.username))
        .limit(TOP)
    ).all()
    profiles = (
        {
            p.username: p
            for (p,) in session.execute(
                select(Profile).where(
                    col(Profile.tenant_id) == tenant_id,
                    col(Profile.username).in_([r[0] for r in top]),
                )
            )
        }
        if top
        else {}
    )
    doc.section(
        "top_users",
        f"Top {TOP} contributors by XP in the period",
        [
            Column("rank", "#", "int"),
            Column("user", "User"),
            Column("answers", "Answers", "int"),
            Column("accuracy_pct", "Accuracy %", "pct"),
            Column("xp_awarded", "XP in period", "int"),
            Column("level", "Level", "int"),
            Column("xp_total", "XP all time", "int"),
            Column("streak_days", "Streak (days)", "int"),
        ],
        (
            {
                "rank": i + 1,
                "user": user,
                "answers": int(n),
                "accuracy_pct": _pct(int(c or 0), int(j or 0)),
                "xp_awarded": int(xp or 0),
                "level": getattr(profiles.get(user), "level", None),
                "xp_total": getattr(profiles.get(user), "xp", None),
                "streak_days": getattr(profiles.get(user), "streak_days", None),
            }
            for i, (user, n, c, j, xp) in enumerate(top)
        ),
    )
    doc.section(
        "datasets",
        "Training datasets built in the period",
        [
            Column("name", "Dataset"),
            Column("mission_type", "Mission type"),
            Column("rows", "Rows", "int"),
            Column("min_agreement", "Min agreement"),
            Column("classification", "Classification"),
            Column("asset_id", "Data asset", "id"),
            Column("created_by", "Created by"),
            Column("created_at", "Created (UTC)", "time"),
        ],
        (
            {
                "name": d.name,
                "mission_type": d.mission_type,
                "rows": d.rows,
                "min_agreement": d.min_agreement,
                "classification": d.classification,
                "asset_id": str(d.asset_id) if d.asset_id else None,
                "created_by": d.created_by,
                "created_at": d.created_at.isoformat(),
            }
            for (d,) in session.execute(
                select(Dataset)
                .where(
                    col(Dataset.tenant_id) == tenant_id,
                    col(Dataset.created_at) >= t0,
                    col(Dataset.created_at) < t1,
                )
                .order_by(col(Dataset.created_at), col(Dataset.name))
            )
        ),
    )
    per_day: dict[Any, int] = dict(
        session.execute(
            select(func.date(Answer.completed_at), func.count())
            .where(
                col(Answer.tenant_id) == tenant_id,
                col(Answer.completed_at) >= t0,
                col(Answer.completed_at) < t1,
            )
            .group_by(func.date(Answer.completed_at))
        ).all()
    )
    per_day = {str(k)[:10]: v for k, v in per_day.items()}
    weight = sum(w for _, w in agreements)
    doc.summary.update(
        {
            "missions_created": tot["created"],
            "missions_settled": tot["settled"],
            "missions_unresolved": tot["unresolved"],
            "answers": tot["answers"],
            "flagged_answers": tot["flagged"],
            "accuracy_pct": _pct(tot["correct"], tot["judged"]),
            "mean_agreement": round(sum(a * w for a, w in agreements) / weight, 3)
            if weight
            else None,
            "xp_awarded": tot["xp"],
            "active_users": len({r[0] for r in top})
            if len(top) < TOP
            else _users_count(session, tenant_id, period),
        }
    )
    doc.summary_kinds["accuracy_pct"] = "pct"
    doc.chart(
        "answers_per_day",
        "Answers per day",
        "answers",
        [(d.isoformat(), float(per_day.get(d.isoformat(), 0))) for d in period.day_list()],
        empty="No answers in this period.",
    )


def _users_count(session: Session, tenant_id: uuid.UUID, period: Period) -> int:
    from shifty_ent.arcade.api import Answer

    return int(
        session.execute(
            select(func.count(func.distinct(Answer.username))).where(
                col(Answer.tenant_id) == tenant_id,
                col(Answer.completed_at) >= period.start,
                col(Answer.completed_at) < period.end,
            )
        ).scalar_one()
    )
