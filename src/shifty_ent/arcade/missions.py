"""Missions: create, import, find, list what a user may take, assign (lease), release, complete.

Concurrency: a mission's wanted answers are rows in ``arcade_slots``. ``assign``/``next`` claim a
slot with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL) followed by a conditional UPDATE
checked by rowcount (``WHERE id = :id AND state = :seen AND lease_count = :seen``); SQLite
transactions are ``BEGIN IMMEDIATE`` and so serialised. A slot whose lease expired is claimable
again. ``complete`` locks the mission row, so settlement happens exactly once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import col

from shifty_ent.arcade import consensus, permissions, progression
from shifty_ent.arcade.mission_types import (
    CLASSIFICATIONS,
    FOUR_EYES_TYPES,
    MAX_OVERLAP,
    MissionType,
    get_type,
    resolve_options,
    validate_payload,
    validate_result,
)
from shifty_ent.arcade.tables import Answer, Mission, Profile, Slot
from shifty_ent.core import infiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.canonical import sha256_hex
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused
from shifty_ent.core.identity import same_person
from shifty_ent.core.ids import resolve
from shifty_ent.core.storable import refuse_unstorable

if TYPE_CHECKING:
    from shifty_ent.core.context import Context

CLAIM_RETRIES = 8
MAX_IMPORT_ERRORS = 20


# ----------------------------------------------------------------- create / import


@dataclass
class MissionSpec:
    """A validated mission, ready to insert."""

    mtype: MissionType
    payload: dict[str, Any]
    options: list[str]
    gold: str | None
    overlap: int
    reward: int
    subject_ref: str | None
    classification: str


def validate_spec(
    *,
    type: str,
    payload: Any,
    options: list[str] | None = None,
    gold: str | None = None,
    overlap: int | None = None,
    reward: int | None = None,
    subject_ref: str | None = None,
    classification: str | None = None,
) -> MissionSpec:
    mtype = get_type(type)
    payload = validate_payload(mtype, payload)
    opts = resolve_options(mtype, options)
    if gold is not None and gold not in opts:
        raise InvalidInput(f"gold answer {gold!r} is not one of the options: {', '.join(opts)}")
    if overlap is None:
        overlap = mtype.overlap
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 1 <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"overlap must be a whole number from 1 to {MAX_OVERLAP}")
    if reward is None:
        reward = mtype.xp_max
    if isinstance(reward, bool) or not isinstance(reward, int):
        raise InvalidInput("reward must be a whole number of XP")
    if not mtype.xp_min <= reward <= mtype.xp_max:
        raise InvalidInput(
            f"reward {reward} XP is outside the {mtype.name} range {mtype.xp_min}-{mtype.xp_max} XP"
        )
    if subject_ref is not None and (not str(subject_ref).strip() or len(str(subject_ref)) > 128):
        raise InvalidInput("subject_ref must be 1-128 characters")
    classification = classification or "confidential"
    if classification not in CLASSIFICATIONS:
        raise InvalidInput(
            f"unknown classification {classification!r}; choose from {', '.join(CLASSIFICATIONS)}"
        )
    return MissionSpec(
        mtype,
        payload,
        opts,
        gold,
        overlap,
        reward,
        str(subject_ref) if subject_ref is not None else None,
        classification,
    )


def _insert(ctx: Context, spec: MissionSpec, *, created_at: datetime | None = None) -> Mission:
    mission = Mission(
        tenant_id=ctx.tenant_id,
        type=spec.mtype.name,
        payload=spec.payload,
        options=spec.options,
        gold=spec.gold,
        overlap=spec.overlap,
        needed=spec.overlap,
        reward=spec.reward,
        min_level=spec.mtype.min_level,
        classification=spec.classification,
        subject_ref=spec.subject_ref,
        created_at=created_at or ctx.now(),
        created_by=ctx.actor,
    )
    ctx.session.add(mission)
    for n in range(spec.overlap):
        ctx.session.add(Slot(tenant_id=ctx.tenant_id, mission_id=mission.id, slot_no=n))
    return mission


def create_mission(
    ctx: Context,
    *,
    type: str,
    payload: dict[str, Any],
    options: list[str] | None = None,
    gold: str | None = None,
    overlap: int | None = None,
    reward: int | None = None,
    subject_ref: str | None = None,
    classification: str | None = None,
) -> Mission:
    """Create one mission (operator or admin). ``subject_ref`` ties it to e.g. a model version."""
    authorize(ctx, permissions.MISSION_MANAGE)
    spec = validate_spec(
        type=type,
        payload=payload,
        options=options,
        gold=gold,
        overlap=overlap,
        reward=reward,
        subject_ref=subject_ref,
        classification=classification,
    )
    mission = _insert(ctx, spec)
    ctx.session.flush()
    ctx.audit(
        "arcade.mission.create",
        target_type="mission",
        target_id=mission.id,
        details={
            "type": mission.type,
            "overlap": mission.overlap,
            "gold": mission.gold is not None,
            "reward": mission.reward,
            "subject_ref": mission.subject_ref,
        },
    )
    return mission


IMPORT_KEYS = {
    "type",
    "payload",
    "options",
    "gold",
    "overlap",
    "reward",
    "subject_ref",
    "classification",
}


def import_missions(ctx: Context, path: Path) -> dict[str, Any]:
    """Import a JSONL file: every line valid, or nothing imported (errors name line numbers)."""
    authorize(ctx, permissions.MISSION_MANAGE)
    try:
        raw = infiles.read_bounded(path, "mission file", infiles.MISSIONS_MAX)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    specs: list[MissionSpec] = []
    errors: list[str] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = refuse_unstorable(json.loads(line), None)
            if not isinstance(obj, dict):
                raise InvalidInput("each line must be a JSON object")
            unknown = sorted(set(obj) - IMPORT_KEYS)
            if unknown:
                raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")
            if "type" not in obj or "payload" not in obj:
                raise InvalidInput("'type' and 'payload' are required")
            opts = obj.get("options")
            if opts is not None and (
                not isinstance(opts, list) or not all(isinstance(o, str) for o in opts)
            ):
                raise InvalidInput("'options' must be a list of strings")
            specs.append(
                validate_spec(
                    type=str(obj["type"]),
                    payload=obj["payload"],
                    options=opts,
                    gold=obj.get("gold"),
                    overlap=obj.get("overlap"),
                    reward=obj.get("reward"),
                    subject_ref=obj.get("subject_ref"),
                    classification=obj.get("classification"),
                )
            )
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not JSON ({exc.msg})")
        except InvalidInput as exc:
            errors.append(f"line {lineno}: {exc.message}")
        if len(errors) >= MAX_IMPORT_ERRORS:
            break
    if errors:
        more = " (stopped at the first 20)" if len(errors) >= MAX_IMPORT_ERRORS else ""
        raise InvalidInput(
            f"{path.name}: {len(errors)} invalid line(s){more}, nothing imported: "
            + "; ".join(errors),
            errors=errors,
        )
    if not specs:
        raise InvalidInput(f"{path.name}: no missions in the file, nothing imported")
    by_type: dict[str, int] = {}
    now = ctx.now()
    for i, spec in enumerate(specs):
        # one microsecond apart: missions are offered in file order
        _insert(ctx, spec, created_at=now + timedelta(microseconds=i))
        by_type[spec.mtype.name] = by_type.get(spec.mtype.name, 0) + 1
    ctx.session.flush()
    digest = sha256_hex(raw)
    ctx.audit(
        "arcade.mission.import",
        target_type="file",
        target_id=digest[:64],
        details={"file": str(path), "sha256": digest, "missions": len(specs), "by_type": by_type},
    )
    return {"file": str(path), "sha256": digest, "imported": len(specs), "by_type": by_type}


# ----------------------------------------------------------------- lookups


def get_mission(ctx: Context, ref: str) -> Mission:
    return resolve(
        ctx.session, Mission, str(ref), what="mission", tenant_id=ctx.tenant_id, name_attr=None
    )


def missions_for_subject(ctx: Context, subject_ref: str, type: str | None = None) -> list[Mission]:
    """Missions tied to a subject (e.g. a model version id), oldest first."""
    stmt = select(Mission).where(
        col(Mission.tenant_id) == ctx.tenant_id, col(Mission.subject_ref) == str(subject_ref)
    )
    if type is not None:
        get_type(type)
        stmt = stmt.where(col(Mission.type) == type)
    return list(ctx.session.scalars(stmt.order_by(col(Mission.created_at), col(Mission.id))).all())


def live_lease(ctx: Context, mission_id: uuid.UUID, username: str) -> Slot | None:
    slot = ctx.session.scalars(
        select(Slot).where(
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Slot.mission_id) == mission_id,
            col(Slot.holder) == username,
            col(Slot.state) == "leased",
        )
    ).first()
    if slot is None or slot.lease_expires_at is None or slot.lease_expires_at <= ctx.now():
        return None
    return slot


def mission_view(ctx: Context, mission: Mission) -> dict[str, Any]:
    """``Mission.public()`` for the acting user: their lease, whether they answered."""
    lease = live_lease(ctx, mission.id, ctx.actor)
    answered = (
        ctx.session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(
                col(Answer.tenant_id) == ctx.tenant_id,
                col(Answer.mission_id) == mission.id,
                col(Answer.username) == ctx.actor,
            )
        )
        or 0
    ) > 0
    manager = bool(ctx.roles() & {"admin", "operator", "auditor"})
    return mission.public(
        lease_expires_at=lease.lease_expires_at if lease else None,
        answered=answered,
        manager=manager,
    )


def show_mission(ctx: Context, ref: str) -> dict[str, Any]:
    authorize(ctx, permissions.READ)
    return mission_view(ctx, get_mission(ctx, ref))


def list_missions(
    ctx: Context,
    *,
    status: str | None = None,
    type: str | None = None,
    subject_ref: str | None = None,
    limit: int = 50,
) -> list[Mission]:
    """Every mission of the tenant (operator view), newest first."""
    authorize(ctx, permissions.MISSION_LIST)
    stmt = select(Mission).where(col(Mission.tenant_id) == ctx.tenant_id)
    if status:
        if status not in ("open", "settled", "unresolved", "cancelled"):
            raise InvalidInput("status must be open, settled, unresolved or cancelled")
        stmt = stmt.where(col(Mission.status) == status)
    if type:
        get_type(type)
        stmt = stmt.where(col(Mission.type) == type)
    if subject_ref:
        stmt = stmt.where(col(Mission.subject_ref) == subject_ref)
    return list(
        ctx.session.scalars(
            stmt.order_by(col(Mission.created_at).desc(), col(Mission.id)).limit(limit)
        ).all()
    )


def _level_expr(ctx: Context, username: str) -> Any:
    """The user's level as a scalar subquery (1 without a profile): saves a round trip."""
    return func.coalesce(
        select(col(Profile.level))
        .where(col(Profile.tenant_id) == ctx.tenant_id, col(Profile.username) == username)
        .scalar_subquery(),
        1,
    )


def own_four_eyes(mission: Mission, username: str) -> bool:
    """A mission this user opened and, by its type, may not answer (their own approval)."""
    return mission.type in FOUR_EYES_TYPES and same_person(mission.created_by, username)


def _refuse_own(mission: Mission, username: str) -> None:
    if own_four_eyes(mission, username):
        raise Refused(
            f"four eyes: {username} opened {mission.type} mission {str(mission.id)[:8]} "
            "and cannot answer it; someone else does"
        )


def _claimable(ctx: Context, username: str, level: Any, now: datetime) -> Any:
    """Slots the user may take: open mission, level high enough, free or expired, not the
    user's own approval, and the user holds or used no other slot of that mission. ``level``:
    an int or a SQL expression."""
    other = aliased(Slot)
    return and_(
        col(Mission.tenant_id) == ctx.tenant_id,
        col(Mission.status) == "open",
        Mission.min_level <= level,
        or_(
            col(Mission.type).not_in(FOUR_EYES_TYPES),
            func.lower(col(Mission.created_by)) != username.lower(),
        ),
        or_(
            col(Slot.state) == "free",
            and_(col(Slot.state) == "leased", col(Slot.lease_expires_at) <= now),
        ),
        ~exists().where(
            col(other.mission_id) == col(Slot.mission_id),
            col(other.holder) == username,
            col(other.id) != col(Slot.id),
        ),
    )


def _join() -> Any:
    """Slot to its mission by ``mission_id`` alone: the composite foreign key already ties the
    slot's tenant to the mission's, and a tenant-free join condition lets PostgreSQL probe slots
    through a ``mission_id``-leading index even before the tables were ANALYZEd (with the tenant
    in the condition it picked ``ix_arcade_slots_claim`` and a claim took seconds at 10,000
    freshly imported missions)."""
    return Mission.id == Slot.mission_id


def available_missions(ctx: Context, *, limit: int = 20, type: str | None = None) -> list[Mission]:
    """Open missions the acting user could take now (oldest first)."""
    authorize(ctx, permissions.PLAY)
    ids = (
        select(col(Slot.mission_id))
        .join(Mission, _join())
        .where(_claimable(ctx, ctx.actor, _level_expr(ctx, ctx.actor), ctx.now()))
    )
    if type:
        get_type(type)
        ids = ids.where(col(Mission.type) == type)
    stmt = (
        select(Mission)
        .where(col(Mission.tenant_id) == ctx.tenant_id, col(Mission.id).in_(ids))
        .order_by(col(Mission.created_at), col(Mission.id))
        .limit(limit)
    )
    return list(ctx.session.scalars(stmt).all())


# ----------------------------------------------------------------- leases


@dataclass
class Lease:
    mission: Mission
    slot: Slot
    resumed: bool = False

    def public(self) -> dict[str, Any]:
        body = self.mission.public(
            lease_expires_at=self.slot.lease_expires_at, answered=False, manager=False
        )
        body["resumed"] = self.resumed
        return body


def _claim(
    ctx: Context,
    *,
    mission_id: uuid.UUID | None,
    type: str | None,
    exclude: set[uuid.UUID] | None = None,
    level: int | None = None,
) -> Lease | None:
    """Pick a claimable slot (skipping rows other transactions hold on PostgreSQL) and take it
    with a conditional UPDATE ... RETURNING: two round trips, and a lost race retries."""
    now = ctx.now()
    level_of = _level_expr(ctx, ctx.actor) if level is None else level
    for _ in range(CLAIM_RETRIES):
        stmt = (
            select(col(Slot.id), col(Slot.state), col(Slot.lease_count), Mission)
            .join(Mission, _join())
            .where(_claimable(ctx, ctx.actor, level_of, now))
        )
        if mission_id is not None:
            # the user's own expired slot first, then the lowest free slot
            stmt = stmt.where(col(Slot.mission_id) == mission_id).order_by(
                (col(Slot.holder) == ctx.actor).desc(), col(Slot.slot_no)
            )
        else:
            if type is not None:
                stmt = stmt.where(col(Mission.type) == type)
            if exclude:
                stmt = stmt.where(col(Slot.mission_id).not_in(exclude))
            stmt = stmt.order_by(col(Mission.created_at), col(Mission.id), col(Slot.slot_no))
        stmt = stmt.limit(1)
        if ctx.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=Slot)
        row = ctx.session.execute(stmt).first()
        if row is None:
            return None
        mission: Mission = row.Mission
        if own_four_eyes(mission, ctx.actor):  # the same person under a case SQL did not fold
            if mission_id is not None:
                _refuse_own(mission, ctx.actor)
            exclude = {*(exclude or set()), mission.id}
            continue
        lease_minutes = get_type(mission.type).lease_minutes
        slot = ctx.session.scalars(
            update(Slot)
            .where(
                Slot.id == row.id,
                Slot.state == row.state,
                Slot.lease_count == row.lease_count,
            )
            .values(
                state="leased",
                holder=ctx.actor,
                leased_at=now,
                lease_expires_at=now + timedelta(minutes=lease_minutes),
                lease_count=Slot.lease_count + 1,
            )
            .returning(Slot),
            execution_options={"synchronize_session": False, "populate_existing": True},
        ).first()
        if slot is not None:
            ctx.audit(
                "arcade.mission.assign",
                target_type="mission",
                target_id=mission.id,
                details={"slot": slot.slot_no, "lease_expires_at": slot.lease_expires_at},
            )
            return Lease(mission, slot)
    raise Conflict("missions are being taken too fast right now; try again")


def assign(ctx: Context, ref: str) -> Lease:
    """Take a lease on one mission (idempotent while the user's lease is live)."""
    authorize(ctx, permissions.PLAY)
    mission = get_mission(ctx, ref)
    mtype = get_type(mission.type)
    lease = live_lease(ctx, mission.id, ctx.actor)
    if lease is not None:
        return Lease(mission, lease, resumed=True)
    if mission.status != "open":
        raise Conflict(f"mission {mission.id} is {mission.status}")
    _refuse_own(mission, ctx.actor)
    level = progression.user_level(ctx, ctx.actor)
    if level < mission.min_level:
        raise Refused(
            f"{mtype.name} missions need level {mission.min_level} or above "
            f"({ctx.actor} is level {level})"
        )
    if _answered(ctx, mission.id, ctx.actor):
        raise Conflict(f"{ctx.actor} already answered mission {mission.id}")
    claimed = _claim(ctx, mission_id=mission.id, type=None, level=level)
    if claimed is None:
        raise Conflict(f"mission {mission.id} has no free slot (all answers taken or leased)")
    return claimed


def next_mission(
    ctx: Context, *, type: str | None = None, exclude: set[uuid.UUID] | None = None
) -> Lease | None:
    """Resume the user's live lease, else take the oldest mission with a free slot."""
    authorize(ctx, permissions.PLAY)
    if type is not None:
        get_type(type)
    held = ctx.session.execute(
        select(Slot, Mission)
        .join(Mission, _join())
        .where(
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Slot.holder) == ctx.actor,
            col(Slot.state) == "leased",
            col(Slot.lease_expires_at) > ctx.now(),
            col(Mission.status) == "open",
        )
        .order_by(col(Slot.leased_at))
    ).all()
    for slot, mission in held:
        if (type is None or mission.type == type) and mission.id not in (exclude or set()):
            return Lease(mission, slot, resumed=True)
    return _claim(ctx, mission_id=None, type=type, exclude=exclude)


def release(ctx: Context, ref: str) -> Mission:
    """Give a lease back so someone else can take the slot."""
    authorize(ctx, permissions.PLAY)
    mission = get_mission(ctx, ref)
    result = ctx.session.execute(
        update(Slot)
        .where(
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Slot.mission_id) == mission.id,
            col(Slot.holder) == ctx.actor,
            col(Slot.state) == "leased",
        )
        .values(state="free", holder=None, leased_at=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(f"{ctx.actor} holds no lease on mission {mission.id}")
    ctx.audit("arcade.mission.release", target_type="mission", target_id=mission.id)
    return mission


MAX_REASON = 500


def cancel_mission(ctx: Context, ref: str, reason: str) -> tuple[Mission, int]:
    """Cancel an open mission (operator or admin): nobody can take or answer it any more.

    Live and expired leases are released; answers already given stay on record, unsettled, and
    earn no XP; a cancelled mission never reaches a dataset. Settled, unresolved or already
    cancelled missions are refused (exit 5). Returns the mission and the leases released.
    """
    authorize(ctx, permissions.MISSION_MANAGE)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("--reason must not be empty")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"--reason must be at most {MAX_REASON} characters")
    mission = _lock_mission(ctx, ref)  # a concurrent complete waits, then sees "cancelled"
    if mission.status != "open":
        raise Conflict(
            f"mission {mission.id} is {mission.status}; only open missions can be cancelled"
        )
    released = _close_slots(ctx, mission.id, ("leased",))
    # free slots too: a claim that picked one before this cancel holds its row, so this waits
    # for that claim, then closes the lease it took (PostgreSQL re-reads the row it waited on)
    _close_slots(ctx, mission.id, ("free", "leased"))
    now = ctx.now()
    mission.status = "cancelled"
    mission.cancelled_at = now
    mission.cancelled_by = ctx.actor
    mission.cancel_reason = reason
    ctx.session.add(mission)
    ctx.audit(
        "arcade.mission.cancel",
        target_type="mission",
        target_id=mission.id,
        details={
            "reason": reason,
            "answers": mission.answer_count,
            "answers_needed": mission.needed,
            "leases_released": released,
        },
    )
    return mission, released


def _close_slots(ctx: Context, mission_id: uuid.UUID, states: tuple[str, ...]) -> int:
    """Close the mission's slots in ``states``: a closed slot is never claimed again."""
    result = ctx.session.execute(
        update(Slot)
        .where(
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Slot.mission_id) == mission_id,
            col(Slot.state).in_(states),
        )
        .values(state="closed", holder=None, leased_at=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # DML returns a CursorResult


def _answered(ctx: Context, mission_id: uuid.UUID, username: str) -> bool:
    return (
        ctx.session.scalar(
            select(func.count())
            .select_from(Answer)
            .where(
                col(Answer.tenant_id) == ctx.tenant_id,
                col(Answer.mission_id) == mission_id,
                col(Answer.username) == username,
            )
        )
        or 0
    ) > 0


# ----------------------------------------------------------------- complete / settle


@dataclass
class Completion:
    mission: Mission
    answer: Answer
    settled: bool
    progress: progression.Progress
    paid: dict[str, progression.Progress] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        mine = self.paid.get(self.answer.username)
        xp = mine.xp_awarded if mine else 0
        badges = list(self.progress.badges) + (list(mine.badges) if mine else [])
        level_after = mine.level_after if mine else self.progress.level_after
        return {
            "mission": self.mission.public(manager=False),
            "answer_id": self.answer.id,
            "option": self.answer.option,
            "flagged": self.answer.flagged,
            "flag_reason": self.answer.flag_reason,
            "settled": self.settled,
            "correct": self.answer.correct if self.settled else None,
            "xp_awarded": xp,
            "xp_capped": mine.xp_capped if mine else 0,
            "level_before": self.progress.level_before,
            "level_after": level_after,
            "leveled_up": level_after > self.progress.level_before,
            "coins_awarded": self.progress.coins_awarded + (mine.coins_awarded if mine else 0),
            "badges_earned": badges,
        }


def max_answers(mission: Mission) -> int:
    """Ties and flagged answers add slots, up to this many answers in all."""
    return 2 * mission.overlap + 1


def _lock_mission(ctx: Context, ref: str) -> Mission:
    """Lock the mission row (settlement happens exactly once); a full UUID costs one query."""
    try:
        mission_id = uuid.UUID(str(ref))
    except ValueError:
        mission_id = get_mission(ctx, ref).id
    stmt = (
        select(Mission)
        .where(col(Mission.tenant_id) == ctx.tenant_id, col(Mission.id) == mission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    mission = ctx.session.scalars(stmt).first()
    if mission is None:
        raise NotFound(f"mission {ref} not found")
    return mission


def _add_slot(ctx: Context, mission: Mission) -> None:
    mission.needed += 1
    top = ctx.session.scalar(
        select(func.max(col(Slot.slot_no))).where(col(Slot.mission_id) == mission.id)
    )
    ctx.session.add(Slot(tenant_id=ctx.tenant_id, mission_id=mission.id, slot_no=int(top or 0) + 1))


def complete(
    ctx: Context,
    ref: str,
    *,
    option: str,
    confidence: float | None = None,
    notes: str | None = None,
) -> Completion:
    """Answer a mission under the user's live lease; settle it when its answers are in.

    Row locks in one order (mission, the user's slot by a conditional UPDATE ... RETURNING,
    profiles by name), earlier answers read only when this answer may settle; the writes are
    flushed together by the single audit append at the end, so the tenant's audit head is
    locked only for the last statements of the transaction.
    """
    authorize(ctx, permissions.PLAY)
    mission = _lock_mission(ctx, ref)
    mtype = get_type(mission.type)
    validate_result(mtype, list(mission.options), option, confidence, notes)
    _refuse_own(mission, ctx.actor)
    now = ctx.now()
    level = progression.user_level(ctx, ctx.actor) if mission.min_level > 1 else 1
    if level < mission.min_level:
        raise Refused(
            f"{mtype.name} missions need level {mission.min_level} or above "
            f"({ctx.actor} is level {level})"
        )
    # take the answer slot: a conditional UPDATE on the user's live lease, returning it
    slot = None
    if mission.status == "open":
        slot = ctx.session.scalars(
            update(Slot)
            .where(
                col(Slot.tenant_id) == ctx.tenant_id,
                col(Slot.mission_id) == mission.id,
                col(Slot.holder) == ctx.actor,
                col(Slot.state) == "leased",
                col(Slot.lease_expires_at) > now,
            )
            .values(state="done", lease_expires_at=None)
            .returning(Slot),
            execution_options={"synchronize_session": False, "populate_existing": True},
        ).first()
    if slot is None:
        raise _no_lease(ctx, mission)
    assert slot.leased_at is not None
    # lock every profile this command may touch now, in name order, before the audit head
    # (and badges): concurrent settlements then never wait on each other in a cycle
    earlier: list[Answer] = []
    if mission.answer_count > 0 and mission.answer_count + 1 >= mission.needed:
        earlier = list(
            ctx.session.scalars(
                select(Answer).where(
                    col(Answer.tenant_id) == ctx.tenant_id, col(Answer.mission_id) == mission.id
                )
            ).all()
        )
    profiles, zones = progression.lock_profiles_with_zones(
        ctx, [ctx.actor, *(a.username for a in earlier)]
    )
    dwell = (now - slot.leased_at).total_seconds()
    flagged = dwell < mtype.min_dwell_seconds
    answer = Answer(
        tenant_id=ctx.tenant_id,
        mission_id=mission.id,
        mission_type=mission.type,
        username=ctx.actor,
        option=option,
        confidence=confidence,
        notes=notes,
        assigned_at=slot.leased_at,
        completed_at=now,
        dwell_seconds=dwell,
        flagged=flagged,
        flag_reason="too_fast" if flagged else None,
        is_gold=mission.gold is not None,
    )
    ctx.session.add(answer)
    mission.answer_count += 1
    if flagged and mission.answer_count < max_answers(mission):
        _add_slot(ctx, mission)
    progress = progression.record_completion(
        ctx, ctx.actor, flagged=flagged, profile=profiles[ctx.actor]
    )
    paid: dict[str, progression.Progress] = {}
    settled = False
    outcome: dict[str, Any] | None = None
    if mission.answer_count >= mission.needed:
        settled, paid, outcome = _settle(ctx, mission, mtype, [*earlier, answer], profiles, zones)
    ctx.session.add(mission)
    badges: dict[str, list[str]] = {}
    for ev in (progress, *paid.values()):
        if ev.badges:
            badges.setdefault(ev.user, []).extend(ev.badges)
    # one event records the answer, any badges, and the tie or settlement it caused
    ctx.audit(
        "arcade.mission.complete",
        target_type="mission",
        target_id=mission.id,
        details={
            "answer_id": str(answer.id),
            "option": option,
            "dwell_seconds": round(dwell, 3),
            "flagged": flagged,
            "badges": badges,
            "settlement": outcome,
        },
    )
    return Completion(mission, answer, settled, progress, paid)


def _no_lease(ctx: Context, mission: Mission) -> Conflict:
    """Why the user cannot answer (error path only: one more read)."""
    slot = ctx.session.scalars(
        select(Slot)
        .where(
            col(Slot.tenant_id) == ctx.tenant_id,
            col(Slot.mission_id) == mission.id,
            col(Slot.holder) == ctx.actor,
        )
        .execution_options(populate_existing=True)
    ).first()
    if slot is not None and slot.state == "done":
        return Conflict(f"{ctx.actor} already answered mission {mission.id}")
    if mission.status != "open":
        return Conflict(f"mission {mission.id} is {mission.status}")
    if slot is not None and slot.state == "leased" and slot.lease_expires_at is not None:
        return Conflict(
            f"your lease on mission {mission.id} expired at {slot.lease_expires_at.isoformat()}; "
            "take it again with `arcade assign`"
        )
    return Conflict(
        f"{ctx.actor} holds no lease on mission {mission.id}; take it with `arcade assign`"
    )


def _settle(
    ctx: Context,
    mission: Mission,
    mtype: MissionType,
    answers: list[Answer],
    profiles: dict[str, Profile],
    zones: dict[str, str],
) -> tuple[bool, dict[str, progression.Progress], dict[str, Any]]:
    """All wanted answers are in: decide (gold, else majority), or ask for one more on a tie.

    Returns (settled, what each payee gained, the outcome for the audit event). Every slot is
    done by now: a mission has ``needed`` slots and each answer used one.
    """
    counted = [a.option for a in answers if not a.flagged]
    if mission.gold is not None:
        result: str | None = mission.gold
        agreement = consensus.agreement_with(counted, mission.gold)
        status = "settled"
    else:
        v = consensus.vote(counted)
        if v.result is None and mission.answer_count < max_answers(mission):
            _add_slot(ctx, mission)  # a tie (or only flagged answers): one more answer
            return (
                False,
                {},
                {"status": "tie", "counts": v.counts, "answers_needed": mission.needed},
            )
        result, agreement = v.result, v.agreement
        status = "settled" if result is not None else "unresolved"
    mission.status = status
    mission.settled_result = result
    mission.agreement = agreement
    mission.settled_at = ctx.now()
    for ans in answers:
        ans.correct = None if result is None else ans.option == result
    paid = progression.settle_payments(ctx, mission, mtype, answers, profiles, zones)
    return (
        True,
        paid,
        {
            "status": status,
            "result": result,
            "agreement": agreement,
            "answers": len(answers),
            "xp_paid": {u: p.xp_awarded for u, p in paid.items()},
        },
    )
