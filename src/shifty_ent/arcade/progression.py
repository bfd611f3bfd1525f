"""XP, levels, coins, badges and streaks: the rules, and the profile rows they maintain.

Rules (documented in docs/arcade.md; the numbers live here only):

- XP is paid when a mission settles. A correct answer (matching gold, else the consensus) earns
  ``xp_min + (reward - xp_min) * a`` where ``a`` is the labeller's smoothed gold accuracy
  ``(gold_correct + 1) / (gold_answers + 2)``; a wrong answer earns 10 % of ``xp_min``; an answer
  on an unresolved mission earns half of ``xp_min``; a flagged (too fast) answer earns nothing.
  No speed bonus. At most :data:`DAILY_XP_CAP` XP per local day (the user's time zone).
- Levels: :data:`LEVEL_THRESHOLDS` (issue 5). Coins: one per 10 XP crossed, ``10 * level`` per
  level reached, :data:`BADGE_COINS` per badge.
- Streak: consecutive local days with at least one settled, non-flagged answer.

Profile rows are locked (``FOR UPDATE`` on PostgreSQL; SQLite transactions are serialised) in
username order, so concurrent settlements never lose an increment or deadlock.
"""

from __future__ import annotations

import bisect
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, literal_column, select
from sqlmodel import col

from shifty_ent.arcade import permissions
from shifty_ent.arcade.tables import ActiveDay, Answer, Badge, Profile
from shifty_ent.core.authz import authorize
from shifty_ent.core.errors import InvalidInput, NotFound
from shifty_ent.core.tables import TenantUser

if TYPE_CHECKING:
    from shifty_ent.arcade.mission_types import MissionType
    from shifty_ent.arcade.tables import Mission
    from shifty_ent.core.context import Context

LEVEL_THRESHOLDS: tuple[int, ...] = (
    0,
    100,
    250,
    531,
    1_000,
    1_713,
    2_740,
    4_182,
    6_194,
    9_000,
    12_913,
    18_351,
    25_859,
    36_126,
    50_000,
    68_513,
    92_892,
    124_586,
    165_275,
    216_895,
)
MAX_LEVEL = len(LEVEL_THRESHOLDS)
DAILY_XP_CAP = 2_000
WRONG_FRACTION = 0.10
UNRESOLVED_FRACTION = 0.50
BADGE_COINS = 25
LEVEL_COINS_PER_LEVEL = 10
MIN_GOLD_RANKED = 10  # gold answers needed to appear on the accuracy leaderboard
HIGH_ACCURACY = 0.95
HIGH_ACCURACY_MIN_GOLD = 20
STREAK_LOOKBACK_DAYS = 400

BADGES: dict[str, str] = {
    "first_mission": "Complete your first mission",
    "ten_missions": "Complete 10 missions",
    "hundred_missions": "Complete 100 missions",
    "week_streak": "7-day streak",
    "month_streak": "30-day streak",
    "high_accuracy": f"95% gold accuracy over at least {HIGH_ACCURACY_MIN_GOLD} gold answers",
}


def level_for_xp(xp: int) -> int:
    """Level 1..20 for an XP total."""
    return max(1, bisect.bisect_right(LEVEL_THRESHOLDS, max(0, int(xp))))


def next_level_xp(level: int) -> int | None:
    """XP at which the level after ``level`` starts; None at the top level."""
    return LEVEL_THRESHOLDS[level] if level < MAX_LEVEL else None


def gold_factor(gold_correct: int, gold_answers: int) -> float:
    return (gold_correct + 1) / (gold_answers + 2)


def xp_for_answer(
    mtype: MissionType,
    reward: int,
    *,
    correct: bool | None,
    flagged: bool,
    gold_correct: int,
    gold_answers: int,
) -> int:
    """XP earned by one settled answer, before the daily cap."""
    if flagged:
        return 0
    if correct is None:
        return int(mtype.xp_min * UNRESOLVED_FRACTION)
    if not correct:
        return max(1, int(mtype.xp_min * WRONG_FRACTION))
    factor = gold_factor(gold_correct, gold_answers)
    return mtype.xp_min + round((reward - mtype.xp_min) * factor)


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(_zone(tz)).date()


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except Exception:  # a zone removed from tzdata since the user was added
        return ZoneInfo("UTC")


def week_start(at: datetime) -> date:
    """Weekly boards run Monday 00:00 UTC to Monday 00:00 UTC (one window for the tenant)."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


# ----------------------------------------------------------------- rows


def insert_ignore(ctx: Context, model: type, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when this call inserted the row."""
    if ctx.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]  # same API
    # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT through SQLAlchemy
    stmt: Any = insert(model).values(**values)
    stmt = stmt.on_conflict_do_nothing().returning(literal_column("1"))
    return ctx.session.execute(stmt).first() is not None


def timezones(ctx: Context, usernames: list[str]) -> dict[str, str]:
    rows = ctx.session.execute(
        select(col(TenantUser.username), col(TenantUser.timezone)).where(
            col(TenantUser.tenant_id) == ctx.tenant_id, col(TenantUser.username).in_(usernames)
        )
    ).all()
    found = {u: tz for u, tz in rows}
    return {u: found.get(u, "UTC") for u in usernames}


def lock_profiles(ctx: Context, usernames: list[str]) -> dict[str, Profile]:
    """Create missing profiles, then lock them in username order (no deadlocks)."""
    names = sorted(set(usernames))
    stmt = (
        select(Profile)
        .where(col(Profile.tenant_id) == ctx.tenant_id, col(Profile.username).in_(names))
        .order_by(Profile.username)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {p.username: p for p in ctx.session.scalars(stmt).all()}
    missing = [n for n in names if n not in found]
    if not missing:
        return found
    for name in missing:
        insert_ignore(
            ctx, Profile, {"id": uuid.uuid4(), "tenant_id": ctx.tenant_id, "username": name}
        )
    return {p.username: p for p in ctx.session.scalars(stmt).all()}


def lock_profiles_with_zones(
    ctx: Context, usernames: list[str]
) -> tuple[dict[str, Profile], dict[str, str]]:
    """:func:`lock_profiles` plus each user's time zone, in the same round trip."""
    names = sorted(set(usernames))
    stmt = (
        select(Profile, col(TenantUser.timezone))
        .outerjoin(
            TenantUser,
            and_(
                col(TenantUser.tenant_id) == col(Profile.tenant_id),
                col(TenantUser.username) == col(Profile.username),
            ),
        )
        .where(col(Profile.tenant_id) == ctx.tenant_id, col(Profile.username).in_(names))
        .order_by(Profile.username)
        .with_for_update(of=Profile)
        .execution_options(populate_existing=True)
    )
    rows = ctx.session.execute(stmt).all()
    if len(rows) < len(names):
        found = {p.username for p, _ in rows}
        for name in names:
            if name not in found:
                insert_ignore(
                    ctx, Profile, {"id": uuid.uuid4(), "tenant_id": ctx.tenant_id, "username": name}
                )
        rows = ctx.session.execute(stmt).all()
    return {p.username: p for p, _ in rows}, {p.username: tz or "UTC" for p, tz in rows}


def get_profile(ctx: Context, username: str) -> Profile | None:
    return ctx.session.scalars(
        select(Profile).where(
            col(Profile.tenant_id) == ctx.tenant_id, col(Profile.username) == username
        )
    ).first()


def user_level(ctx: Context, username: str) -> int:
    prof = get_profile(ctx, username)
    return prof.level if prof else 1


def get_user_level(ctx: Context, username: str) -> int:
    """The level other groups check (``model promote`` needs approvals by level >= 5)."""
    return user_level(ctx, username)


# ----------------------------------------------------------------- events


@dataclass
class Progress:
    """What happened to one user in one command: shown by ``complete`` and ``play``."""

    user: str
    xp_awarded: int = 0
    xp_capped: int = 0
    level_before: int = 1
    level_after: int = 1
    coins_awarded: int = 0
    badges: list[str] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "xp_awarded": self.xp_awarded,
            "xp_capped": self.xp_capped,
            "level_before": self.level_before,
            "level_after": self.level_after,
            "leveled_up": self.level_after > self.level_before,
            "coins_awarded": self.coins_awarded,
            "badges": list(self.badges),
        }


def _award_badge(ctx: Context, prof: Profile, badge: str, ev: Progress) -> None:
    """Award once (the primary key decides); the command's audit event lists ``ev.badges``."""
    if insert_ignore(
        ctx,
        Badge,
        {
            "tenant_id": ctx.tenant_id,
            "username": prof.username,
            "badge": badge,
            "awarded_at": ctx.now(),
        },
    ):
        prof.coins += BADGE_COINS
        ev.coins_awarded += BADGE_COINS
        ev.badges.append(badge)


def _add_xp(ctx: Context, prof: Profile, amount: int, tz: str, ev: Progress) -> None:
    now = ctx.now()
    today = local_day(now, tz)
    if prof.xp_day != today:
        prof.xp_day, prof.xp_today = today, 0
    wk = week_start(now)
    if prof.week_start != wk:
        prof.week_start, prof.xp_week = wk, 0
    paid = max(0, min(amount, DAILY_XP_CAP - prof.xp_today))
    ev.xp_capped += amount - paid
    before_xp, before_level = prof.xp, prof.level
    prof.xp += paid
    prof.xp_today += paid
    prof.xp_week += paid
    coins = prof.xp // 10 - before_xp // 10
    prof.level = level_for_xp(prof.xp)
    coins += sum(LEVEL_COINS_PER_LEVEL * lvl for lvl in range(before_level + 1, prof.level + 1))
    prof.coins += coins
    ev.coins_awarded += coins
    ev.xp_awarded += paid
    ev.level_after = prof.level


def _recompute_streak(ctx: Context, prof: Profile) -> None:
    days = ctx.session.scalars(
        select(col(ActiveDay.day))
        .where(col(ActiveDay.tenant_id) == ctx.tenant_id, col(ActiveDay.username) == prof.username)
        .order_by(col(ActiveDay.day).desc())
        .limit(STREAK_LOOKBACK_DAYS)
    ).all()
    if not days:
        return
    run = 1
    for prev, cur in itertools.pairwise(days):
        if prev - cur == timedelta(days=1):
            run += 1
        else:
            break
    prof.streak_days = run
    prof.last_active_day = days[0]
    prof.best_streak = max(prof.best_streak, run)


def _mark_active(ctx: Context, prof: Profile, day: date) -> None:
    """Record an active day and keep the streak; no statement at all for a day already known."""
    if prof.last_active_day == day:
        return  # the latest active day: its row exists and the streak already counts it
    if not insert_ignore(
        ctx, ActiveDay, {"tenant_id": ctx.tenant_id, "username": prof.username, "day": day}
    ):
        return  # an earlier day already recorded: the set of days, hence the streak, is unchanged
    last = prof.last_active_day
    if last is None or day > last:
        # a new latest day: the run grows by one day, or starts again after a gap
        run = prof.streak_days + 1 if last is not None and day - last == timedelta(days=1) else 1
        prof.streak_days, prof.last_active_day = run, day
        prof.best_streak = max(prof.best_streak, run)
    else:
        _recompute_streak(ctx, prof)  # a late answer filled an older day: count again


def _high_accuracy(prof: Profile) -> bool:
    return (
        prof.gold_answers >= HIGH_ACCURACY_MIN_GOLD
        and prof.gold_correct / prof.gold_answers >= HIGH_ACCURACY
    )


def record_completion(
    ctx: Context, username: str, *, flagged: bool, profile: Profile | None = None
) -> Progress:
    """Count a submitted answer: mission-count badges are earned at the moment of completion.

    ``profile``: the user's profile, already locked by the caller."""
    prof = profile if profile is not None else lock_profiles(ctx, [username])[username]
    ev = Progress(user=username, level_before=prof.level, level_after=prof.level)
    if flagged:
        prof.flagged_count += 1
    else:
        prof.missions_completed += 1
        # increments are serialised by the row lock, so "== need" is the moment it is earned
        for badge, need in (("first_mission", 1), ("ten_missions", 10), ("hundred_missions", 100)):
            if prof.missions_completed == need:
                _award_badge(ctx, prof, badge, ev)
    prof.updated_at = ctx.now()
    ctx.session.add(prof)
    return ev


def settle_payments(
    ctx: Context,
    mission: Mission,
    mtype: MissionType,
    answers: list[Answer],
    profiles: dict[str, Profile] | None = None,
    zones: dict[str, str] | None = None,
) -> dict[str, Progress]:
    """Pay everyone who answered a mission that just settled; returns what each user gained.

    ``profiles``/``zones``: from :func:`lock_profiles_with_zones` when the caller locked them."""
    names = [a.username for a in answers]
    if profiles is None or zones is None:
        profiles, zones = lock_profiles_with_zones(ctx, names)
    tzs = zones
    events: dict[str, Progress] = {}
    now = ctx.now()
    for ans in sorted(answers, key=lambda a: a.username):
        prof = profiles[ans.username]
        ev = Progress(user=prof.username, level_before=prof.level, level_after=prof.level)
        events[prof.username] = ev
        prof.missions_settled += 1
        best_before = prof.best_streak
        accurate_before = _high_accuracy(prof)
        if not ans.flagged and ans.correct is not None:
            if ans.is_gold:
                prof.gold_answers += 1
                prof.gold_correct += int(ans.correct)
            else:
                prof.consensus_answers += 1
                prof.consensus_correct += int(ans.correct)
        prof.ranked_accuracy = (
            prof.gold_correct / prof.gold_answers if prof.gold_answers >= MIN_GOLD_RANKED else None
        )
        earned = xp_for_answer(
            mtype,
            mission.reward,
            correct=ans.correct,
            flagged=ans.flagged,
            gold_correct=prof.gold_correct,
            gold_answers=prof.gold_answers,
        )
        _add_xp(ctx, prof, earned, tzs[prof.username], ev)
        ans.xp_earned, ans.xp_awarded, ans.settled_at = earned, ev.xp_awarded, now
        ctx.session.add(ans)
        if not ans.flagged:
            _mark_active(ctx, prof, local_day(ans.completed_at, tzs[prof.username]))
        # badges are tried when their condition becomes true; the primary key keeps them unique
        if best_before < 7 <= prof.best_streak:
            _award_badge(ctx, prof, "week_streak", ev)
        if best_before < 30 <= prof.best_streak:
            _award_badge(ctx, prof, "month_streak", ev)
        if _high_accuracy(prof) and not accurate_before:
            _award_badge(ctx, prof, "high_accuracy", ev)
        prof.updated_at = now
        ctx.session.add(prof)
    return events


def grant_xp(ctx: Context, username: str, xp: int, reason: str) -> Progress:
    """Admin grant (seeding reviewers migrated from another tool); audited, outside the cap."""
    authorize(ctx, permissions.GRANT)
    _require_member(ctx, username)
    if xp <= 0 or xp > LEVEL_THRESHOLDS[-1]:
        raise InvalidInput(f"--xp must be between 1 and {LEVEL_THRESHOLDS[-1]}")
    if not reason.strip():
        raise InvalidInput("--reason must not be empty")
    prof = lock_profiles(ctx, [username])[username]
    ev = Progress(user=username, level_before=prof.level, level_after=prof.level)
    before = prof.xp
    prof.xp += xp
    prof.level = level_for_xp(prof.xp)
    prof.coins += prof.xp // 10 - before // 10
    ev.xp_awarded, ev.level_after = xp, prof.level
    prof.updated_at = ctx.now()
    ctx.session.add(prof)
    ctx.audit(
        "arcade.xp.grant",
        target_type="user",
        target_id=username,
        details={"xp": xp, "reason": reason, "level": prof.level},
    )
    return ev


# ----------------------------------------------------------------- profile view


def _require_member(ctx: Context, username: str) -> TenantUser:
    user = ctx.session.scalars(
        select(TenantUser).where(
            col(TenantUser.tenant_id) == ctx.tenant_id, col(TenantUser.username) == username
        )
    ).first()
    if user is None:
        tenant = ctx.tenant.name if ctx.tenant is not None else str(ctx.tenant_id)
        raise NotFound(f"user {username!r} not found in tenant {tenant!r}")
    return user


def current_streak(prof: Profile | None, tz: str, now: datetime) -> int:
    """The streak still alive today or yesterday (local), else 0."""
    if prof is None or prof.last_active_day is None:
        return 0
    today = local_day(now, tz)
    return prof.streak_days if prof.last_active_day >= today - timedelta(days=1) else 0


def profile_view(ctx: Context, username: str) -> dict[str, Any]:
    authorize(ctx, permissions.READ)
    user = _require_member(ctx, username)
    prof = get_profile(ctx, username) or Profile(tenant_id=ctx.tenant_id, username=username)
    badges = ctx.session.scalars(
        select(Badge)
        .where(col(Badge.tenant_id) == ctx.tenant_id, col(Badge.username) == username)
        .order_by(col(Badge.awarded_at), col(Badge.badge))
    ).all()
    level = level_for_xp(prof.xp)
    nxt = next_level_xp(level)
    base = LEVEL_THRESHOLDS[level - 1]
    now = ctx.now()
    same_week = prof.week_start == week_start(now)
    same_day = prof.xp_day == local_day(now, user.timezone)
    accuracy = prof.gold_correct / prof.gold_answers if prof.gold_answers else None
    consensus = prof.consensus_correct / prof.consensus_answers if prof.consensus_answers else None
    return {
        "user": username,
        "xp": prof.xp,
        "level": level,
        "next_level_xp": nxt,
        "xp_to_next_level": (nxt - prof.xp) if nxt is not None else None,
        "level_progress": round((prof.xp - base) / (nxt - base), 4) if nxt is not None else 1.0,
        "coins": prof.coins,
        "badges": [b.badge for b in badges],
        "badges_awarded_at": {b.badge: b.awarded_at for b in badges},
        "streak_days": current_streak(prof, user.timezone, now),
        "best_streak": prof.best_streak,
        "accuracy": round(accuracy, 4) if accuracy is not None else None,
        "gold_answers": prof.gold_answers,
        "consensus_agreement": round(consensus, 4) if consensus is not None else None,
        "missions_completed": prof.missions_completed,
        "missions_settled": prof.missions_settled,
        "flagged_answers": prof.flagged_count,
        "xp_week": prof.xp_week if same_week else 0,
        "xp_today": prof.xp_today if same_day else 0,
        "daily_xp_cap": DAILY_XP_CAP,
        "timezone": user.timezone,
    }
