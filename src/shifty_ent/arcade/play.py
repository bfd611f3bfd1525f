"""``arcade play``: the interactive loop at a terminal.

Each step (take, answer, release) runs in its own short transaction, so a labeller thinking for
minutes never holds the store's write lock. Keys: ``1``-``9`` answer with that option, ``s`` skips
(releases the lease and moves on), ``q`` quits (releases the lease). On a terminal one key press is
enough; otherwise (pipes, tests) a line is read per answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shifty_ent.arcade import missions, permissions, progression
from shifty_ent.arcade.mission_types import get_type
from shifty_ent.core.authz import authorize
from shifty_ent.core.errors import ShiftyError

if TYPE_CHECKING:
    from rich.console import Console

    from shifty_ent.core.context import Context

OpenContext = Callable[[], AbstractContextManager["Context"]]
ReadKey = Callable[[str], str]
MAX_PAYLOAD_CHARS = 2000


@dataclass
class Session:
    answered: int = 0
    skipped: int = 0
    xp: int = 0
    badges: list[str] = field(default_factory=list)
    level_ups: list[int] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "skipped": self.skipped,
            "xp_awarded": self.xp,
            "badges_earned": self.badges,
            "levels_reached": self.level_ups,
        }


def _payload_text(payload: dict[str, Any]) -> str:
    """The payload as a person reads it: ``key: value`` lines, and text that spans lines (code,
    logs, stack traces) printed with its real line breaks, indented under its key, rather than
    as one JSON string full of ``\\n``."""
    lines: list[str] = []
    for key, value in payload.items():
        if isinstance(value, str) and "\n" in value:
            lines.append(f"{key}:")
            lines.extend(f"    {line}" for line in value.rstrip("\n").split("\n"))
        elif isinstance(value, str):
            lines.append(f"{key}: {value}")
        else:
            shown = json.dumps(value, indent=2, ensure_ascii=False)
            lines.append(f"{key}: {shown}")
    text = "\n".join(lines)
    return text if len(text) <= MAX_PAYLOAD_CHARS else text[:MAX_PAYLOAD_CHARS] + "\n..."


def local_time(at: datetime, zone: str | None) -> str:
    """``at`` in the labeller's own time zone, named: ``04:15:00 EST (UTC-05:00)``."""
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = at.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def _show_mission(console: Console, view: dict[str, Any], profile: dict[str, Any]) -> None:
    from rich.cells import cell_len
    from rich.panel import Panel
    from rich.text import Text

    mtype = get_type(view["type"])
    console.print(
        f"[bold]Level {profile['level']}[/bold]  {profile['xp']} XP  "
        f"{profile['coins']} coins  streak {profile['streak_days']}d"
    )
    body = Text(_payload_text(view["payload"]))
    title = f"{mtype.name}: {mtype.description}"
    sub = (
        f"mission {str(view['id'])[:8]}  up to {view['reward']} XP  "
        f"lease until {local_time(view['lease_expires_at'], profile.get('timezone'))}"
    )
    # a narrow payload must not cut the title or the footer: the card is as wide as the
    # widest of the three (plus borders and padding), within the terminal
    widest = max(cell_len(line) for line in [*body.plain.split("\n"), title, sub])
    width = min(console.width, widest + 6)
    console.print(Panel(body, title=title, subtitle=sub, expand=False, width=width))
    keys = "  ".join(f"[bold]{i}[/bold] {opt}" for i, opt in enumerate(view["options"], 1))
    console.print(f"{keys}   [bold]s[/bold] skip   [bold]q[/bold] quit")


def check(ctx: Context) -> None:
    """Refuse before the loop starts when the user may not play (each step checks again)."""
    authorize(ctx, permissions.PLAY)


def run(
    open_ctx: OpenContext,
    console: Console,
    read_key: ReadKey,
    *,
    type: str | None = None,
) -> Session:
    """Loop: take the next mission, show it, read a key, answer/skip/quit, show the reward."""
    state = Session()
    skipped: set[uuid.UUID] = set()
    while True:
        with open_ctx() as ctx:
            lease = missions.next_mission(ctx, type=type, exclude=skipped)
            if lease is None:
                view = None
            else:
                view = lease.public()
                profile = progression.profile_view(ctx, ctx.actor)
        if view is None:
            console.print("No missions available right now. Come back later!")
            break
        try:
            key = _ask(console, view, profile, read_key)
        except KeyboardInterrupt:
            # Ctrl-C: give the mission back at once, not when the lease runs out
            _release(open_ctx, view)
            raise
        if key in ("q", "s"):
            _release(open_ctx, view)
            if key == "q":
                console.print("Lease released. See you next time!")
                break
            skipped.add(view["id"])
            state.skipped += 1
            console.print("Skipped.")
            continue
        option = view["options"][int(key) - 1]
        try:
            with open_ctx() as ctx:
                done = missions.complete(ctx, str(view["id"]), option=option).public()
        except ShiftyError as exc:
            console.print(f"[red]Not recorded:[/red] {exc.message}")
            continue
        state.answered += 1
        _show_result(console, done, state)
    return state


def _ask(console: Console, view: dict[str, Any], profile: dict[str, Any], read_key: ReadKey) -> str:
    """Show the card and read keys until one is an answer, ``s`` or ``q``."""
    _show_mission(console, view, profile)
    options: list[str] = view["options"]
    while True:
        key = read_key(f"answer 1-{len(options)}, s or q").strip().lower()
        if key in ("q", "s") or (key.isdigit() and 1 <= int(key) <= len(options)):
            return key
        console.print(f"Press 1-{len(options)} to answer, s to skip, q to quit.")


def _release(open_ctx: OpenContext, view: dict[str, Any]) -> None:
    try:
        with open_ctx() as ctx:
            missions.release(ctx, str(view["id"]))
    except ShiftyError:
        pass  # the lease had already expired: nothing to give back


def _show_result(console: Console, done: dict[str, Any], state: Session) -> None:
    if done["flagged"]:
        console.print(
            "[yellow]Answered too fast: flagged, no XP.[/yellow] Take the time to read each one."
        )
    elif done["settled"]:
        verdict = "matched the result" if done["correct"] else "did not match the result"
        console.print(f"Answer {verdict}: [bold green]+{done['xp_awarded']} XP[/bold green]")
        if done["xp_capped"]:
            console.print(f"Daily XP cap reached ({done['xp_capped']} XP not paid).")
    else:
        m = done["mission"]
        console.print(
            f"Answer recorded ({m['answers']}/{m['answers_needed']}); "
            "XP is paid when the mission settles."
        )
    state.xp += done["xp_awarded"]
    if done["leveled_up"]:
        console.print(
            "[bold magenta]LEVEL UP![/bold magenta] "
            f"{done['level_before']} -> {done['level_after']}"
        )
        state.level_ups.append(done["level_after"])
    for badge in done["badges_earned"]:
        console.print(f"[bold cyan]Badge earned:[/bold cyan] {badge} ({progression.BADGES[badge]})")
        state.badges.append(badge)
