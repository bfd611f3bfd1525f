"""Arcade tables: missions, their answer slots (leases), answers, profiles, badges, active days,
and the datasets built from settled missions.

Why slots: a mission wanting N answers has N rows in ``arcade_slots``; taking a mission claims one
slot row with a conditional UPDATE (and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two people
asking at once can never hold the same slot. An expired lease is simply a claimable slot again.

Why profiles: leaderboards read ``arcade_profiles`` (maintained on every settlement) through
indexes, never by aggregating ``arcade_answers``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Date, Float, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shifty_ent.core.tables import created_at_field, tenant_fk, tenant_unique, utc_field
from shifty_ent.core.types import JSONType, UTCDateTime


class Mission(SQLModel, table=True):
    __tablename__ = "arcade_missions"
    __table_args__ = (
        tenant_unique("arcade_missions"),
        Index("ix_arcade_missions_open", "tenant_id", "status", "created_at"),
        Index("ix_arcade_missions_subject", "tenant_id", "subject_ref"),
        Index("ix_arcade_missions_type", "tenant_id", "type", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    type: str = Field(max_length=32)
    status: str = Field(default="open", max_length=16)  # open | settled | unresolved | cancelled
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    options: list[str] = Field(default_factory=list, sa_type=JSONType)
    gold: str | None = Field(default=None, max_length=128)
    overlap: int = 3
    needed: int = 3  # answers wanted now: overlap + one per tie + one per flagged answer
    answer_count: int = 0  # all answers, flagged included
    reward: int = 0  # XP of a correct answer by a perfect labeller (inside the type's range)
    min_level: int = 1
    classification: str = Field(default="confidential", max_length=16)
    subject_ref: str | None = Field(default=None, max_length=128)
    settled_result: str | None = Field(default=None, max_length=128)
    agreement: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    settled_at: datetime | None = utc_field(index=True)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    cancelled_at: datetime | None = utc_field()
    cancelled_by: str | None = Field(default=None, max_length=128)
    cancel_reason: str | None = Field(default=None, max_length=500)

    def public(
        self,
        *,
        lease_expires_at: datetime | None = None,
        answered: bool | None = None,
        manager: bool = True,
    ) -> dict[str, Any]:
        """The mission's JSON contract. Labellers (``manager=False``) see an answer count, never
        other people's answers, and not whether it is a gold mission (nor its gold answer)."""
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "overlap": self.overlap,
            "answers": self.answer_count,
            "answers_needed": self.needed,
            "options": list(self.options or []),
            "payload": self.payload,
            "reward": self.reward,
            "min_level": self.min_level,
            "classification": self.classification,
            "subject_ref": self.subject_ref,
            "settled_result": self.settled_result,
            "agreement": self.agreement,
            "settled_at": self.settled_at,
            "lease_expires_at": lease_expires_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "cancelled_at": self.cancelled_at,
            "cancelled_by": self.cancelled_by,
            "cancel_reason": self.cancel_reason,
        }
        if manager:
            body["gold"] = self.gold is not None
            body["gold_answer"] = self.gold
        if answered is not None:
            body["answered_by_you"] = answered
        return body


class Slot(SQLModel, table=True):
    """One of the answers a mission wants. ``state``: free | leased | done."""

    __tablename__ = "arcade_slots"
    __table_args__ = (
        tenant_unique("arcade_slots"),
        tenant_fk("mission_id", "arcade_missions", ondelete="CASCADE"),
        UniqueConstraint("mission_id", "slot_no", name="uq_arcade_slots_no"),
        # one user holds or used at most one slot of a mission (NULL holders do not collide)
        UniqueConstraint("mission_id", "holder", name="uq_arcade_slots_holder"),
        Index("ix_arcade_slots_claim", "tenant_id", "state", "mission_id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    mission_id: uuid.UUID
    slot_no: int
    state: str = Field(default="free", max_length=8)
    holder: str | None = Field(default=None, max_length=128)
    leased_at: datetime | None = utc_field()
    lease_expires_at: datetime | None = utc_field()
    lease_count: int = 0  # bumps on every claim: a stale lease can never complete


class Answer(SQLModel, table=True):
    __tablename__ = "arcade_answers"
    __table_args__ = (
        tenant_unique("arcade_answers"),
        tenant_fk("mission_id", "arcade_missions", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "mission_id", "username", name="uq_arcade_answer_once"),
        Index("ix_arcade_answers_completed", "tenant_id", "completed_at"),
        Index("ix_arcade_answers_user", "tenant_id", "username"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    mission_id: uuid.UUID
    mission_type: str = Field(max_length=32)
    username: str = Field(max_length=128)
    option: str = Field(max_length=128)
    confidence: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    notes: str | None = Field(default=None, max_length=2000)
    assigned_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    completed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    dwell_seconds: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    flagged: bool = False
    flag_reason: str | None = Field(default=None, max_length=64)
    is_gold: bool = False
    correct: bool | None = None  # against gold, else against consensus; set at settlement
    xp_earned: int = 0  # before the daily cap
    xp_awarded: int = 0
    settled_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mission_id": self.mission_id,
            "mission_type": self.mission_type,
            "user": self.username,
            "option": self.option,
            "confidence": self.confidence,
            "notes": self.notes,
            "assigned_at": self.assigned_at,
            "completed_at": self.completed_at,
            "dwell_seconds": self.dwell_seconds,
            "flagged": self.flagged,
            "flag_reason": self.flag_reason,
            "correct": self.correct,
            "xp_awarded": self.xp_awarded,
            "settled_at": self.settled_at,
        }


class Profile(SQLModel, table=True):
    """A labeller's running totals, maintained at completion and settlement (leaderboard source)."""

    __tablename__ = "arcade_profiles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username", name="uq_arcade_profiles_user"),
        # one index per leaderboard, in the board's exact ORDER BY (no sort step at read time)
        Index("ix_arcade_profiles_xp", "tenant_id", text("xp DESC"), "username"),
        Index(
            "ix_arcade_profiles_week", "tenant_id", "week_start", text("xp_week DESC"), "username"
        ),
        Index(
            "ix_arcade_profiles_missions", "tenant_id", text("missions_completed DESC"), "username"
        ),
        Index(
            "ix_arcade_profiles_accuracy",
            "tenant_id",
            text("ranked_accuracy DESC"),
            text("gold_answers DESC"),
            "username",
        ),
        Index("ix_arcade_profiles_streak", "tenant_id", text("streak_days DESC"), "username"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    username: str = Field(max_length=128)
    xp: int = 0
    level: int = 1
    coins: int = 0
    missions_completed: int = 0  # non-flagged answers submitted
    missions_settled: int = 0
    flagged_count: int = 0
    gold_answers: int = 0
    gold_correct: int = 0
    consensus_answers: int = 0
    consensus_correct: int = 0
    # gold accuracy once gold_answers reaches the leaderboard minimum, else NULL (indexed board)
    ranked_accuracy: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    week_start: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    xp_week: int = 0
    xp_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    xp_today: int = 0
    streak_days: int = 0  # run of consecutive active days ending at last_active_day
    best_streak: int = 0
    last_active_day: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    updated_at: datetime | None = utc_field()


class ActiveDay(SQLModel, table=True):
    """A local calendar day on which a user had a settled, non-flagged answer (streaks)."""

    __tablename__ = "arcade_active_days"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    username: str = Field(max_length=128, primary_key=True)
    day: date = Field(sa_column=Column(Date, primary_key=True))


class Badge(SQLModel, table=True):
    __tablename__ = "arcade_badges"

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    username: str = Field(max_length=128, primary_key=True)
    badge: str = Field(max_length=32, primary_key=True)
    awarded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Dataset(SQLModel, table=True):
    __tablename__ = "arcade_datasets"
    __table_args__ = (
        tenant_unique("arcade_datasets"),
        UniqueConstraint("tenant_id", "name", name="uq_arcade_datasets_name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=128)
    mission_type: str = Field(max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    min_agreement: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    rows: int = 0
    classification: str = Field(max_length=16)
    path: str = Field(max_length=1024)
    card_path: str = Field(max_length=1024)
    sha256: str = Field(max_length=64)
    size_bytes: int = 0
    asset_id: uuid.UUID | None = None
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "mission_type": self.mission_type,
            "description": self.description,
            "min_agreement": self.min_agreement,
            "rows": self.rows,
            "classification": self.classification,
            "path": self.path,
            "card_path": self.card_path,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "asset_id": self.asset_id,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }
