"""Commands: arcade profile, mission create|import|show|list|cancel, missions, assign, next,
release, complete, play, leaderboard, dataset create|list, stats, types, grant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shifty_ent.core.choices import CLASSIFICATIONS, Values
from shifty_ent.core.options import EndOpt, StartOpt
from shifty_ent.core.runtime import command, emit, info, make_app, output_format

app = make_app("HITL Arcade: labelling missions, consensus, XP, leaderboards and datasets.")
mission_app = make_app("Create, import and inspect missions (operator or admin).")
dataset_app = make_app("Training datasets built from settled missions.")
app.add_typer(mission_app, name="mission")
app.add_typer(dataset_app, name="dataset")

# arcade/mission_types.py TYPES, repeated so help needs no import of the type registry
MISSION_TYPES = Values(
    (
        "label_test_output",
        "validate_selector",
        "rate_test_quality",
        "verify_fix",
        "classify_error",
        "annotate_ui_element",
        "review_model_output",
        "approve_deployment",
    )
)
# arcade/leaderboard.py BOARDS
BOARDS = Values(("xp_all_time", "xp_weekly", "missions", "accuracy", "streak"))

MissionArg = Annotated[str, typer.Argument(metavar="MISSION", help="Mission id or unique prefix.")]
TypeOpt = Annotated[
    str | None,
    typer.Option("--type", metavar="T", parser=MISSION_TYPES, help="Only missions of this type."),
]
MISSION_COLUMNS = [
    "id",
    "type",
    "status",
    "answers",
    "overlap",
    "reward",
    "settled_result",
    "agreement",
    "lease_expires_at",
]

# what a person compares first in ``arcade stats``; --wide shows the counts and kappas too
STATS_COLUMNS = [
    "type",
    "missions_settled",
    "answers",
    "active_users",
    "accuracy",
    "agreement",
    "fleiss_kappa",
    "median_seconds",
    "xp_awarded",
]


def _payload(text: str) -> object:
    import json

    from shifty_ent.core import infiles
    from shifty_ent.core.errors import InvalidInput
    from shifty_ent.core.storable import refuse_unstorable

    raw = text
    if text.startswith("@"):
        try:
            data = infiles.read_bounded(text[1:], "--payload", infiles.PAYLOAD_MAX)
        except OSError as exc:
            raise InvalidInput(
                f"--payload: cannot read {text[1:]}: {exc.strerror or exc}"
            ) from None
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"--payload: {text[1:]} is not UTF-8 text") from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--payload is not valid JSON: {exc.msg}") from None
    return refuse_unstorable(value, "--payload")


@app.command("types")
def types_cmd() -> None:
    """List the mission types with their XP range, overlap, answers and payload keys. No role."""
    from shifty_ent.arcade.mission_types import TYPES

    emit(
        [t.describe() for t in TYPES.values()],
        columns=["type", "xp_min", "xp_max", "overlap", "options", "payload_required", "min_level"],
    )


@app.command("profile")
def profile_cmd(
    user: Annotated[str | None, typer.Argument(metavar="USER", help="Default: you.")] = None,
) -> None:
    """Level, progress, XP, coins, badges, streak and accuracy of a user. Any member."""
    from shifty_ent.arcade import progression

    with command() as ctx:
        emit(progression.profile_view(ctx, user or ctx.actor))


@mission_app.command("create")
def mission_create(
    type: Annotated[
        str,
        typer.Option(
            "--type", metavar="T", parser=MISSION_TYPES, help="Mission type (see `types`)."
        ),
    ],
    payload: Annotated[
        str, typer.Option("--payload", metavar="JSON|@FILE", help="The mission's input.")
    ],
    options: Annotated[
        str | None,
        typer.Option(
            "--options", metavar="A,B,...", help="Custom answers (where the type allows)."
        ),
    ] = None,
    gold: Annotated[
        str | None, typer.Option("--gold", metavar="ANSWER", help="Known answer: a gold mission.")
    ] = None,
    overlap: Annotated[
        int | None, typer.Option("--overlap", metavar="N", help="Independent answers wanted.")
    ] = None,
    reward: Annotated[
        int | None, typer.Option("--reward", metavar="XP", help="XP inside the type's range.")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject", metavar="REF", help="What it is about (e.g. a model version id)."
        ),
    ] = None,
    classification: Annotated[
        str | None,
        typer.Option(
            "--classification",
            metavar="C",
            parser=Values(CLASSIFICATIONS),
            help="Data classification (default: confidential).",
        ),
    ] = None,
) -> None:
    """Create one mission. Needs operator or admin.

    Examples:
    shifty-ent -t acme arcade mission create --type classify_error \\
        --payload '{"error": "KeyError: user_id"}'
    shifty-ent -t acme arcade mission create --type review_model_output \\
        --payload @case.json --overlap 3
    """
    from shifty_ent.arcade import missions

    body = _payload(payload)
    opts = [o.strip() for o in options.split(",")] if options is not None else None
    with command() as ctx:
        m = missions.create_mission(
            ctx,
            type=type,
            payload=body,  # type: ignore[arg-type]  # create_mission validates the payload
            options=opts,
            gold=gold,
            overlap=overlap,
            reward=reward,
            subject_ref=subject,
            classification=classification,
        )
        emit(m.public(), columns=MISSION_COLUMNS)


@mission_app.command("import")
def mission_import(
    file: Annotated[Path, typer.Argument(metavar="FILE.jsonl", help="One mission per line.")],
) -> None:
    """Import missions from JSONL: all lines or none (errors name line numbers). Operator/admin."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        emit(missions.import_missions(ctx, file))


@mission_app.command("show")
def mission_show(mission: MissionArg) -> None:
    """One mission (answer count only, never others' answers). Any member."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        emit(missions.show_mission(ctx, mission))


@mission_app.command("cancel")
def mission_cancel(
    mission: MissionArg,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why (kept with the mission, audited).")
    ],
) -> None:
    """Cancel an open mission: leases released, no more answers, no XP. Operator or admin.

    Exit 5 when the mission is already settled, unresolved or cancelled.
    """
    from shifty_ent.arcade import missions

    with command() as ctx:
        m, released = missions.cancel_mission(ctx, mission, reason)
        info(
            f"cancelled mission {m.id} ({m.answer_count} answer(s) kept, "
            f"{released} lease(s) released)"
        )
        body = m.public()
        body["leases_released"] = released
        emit(
            body,
            columns=[
                "id",
                "type",
                "status",
                "answers",
                "cancelled_by",
                "cancel_reason",
                "leases_released",
            ],
        )


@mission_app.command("list")
def mission_list(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            metavar="S",
            parser=Values(("open", "settled", "unresolved", "cancelled")),
            help="Only missions in this state.",
        ),
    ] = None,
    type: TypeOpt = None,
    subject: Annotated[str | None, typer.Option("--subject", metavar="REF")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
) -> None:
    """All missions of the tenant, newest first. Operator, auditor or admin."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        rows = missions.list_missions(
            ctx, status=status, type=type, subject_ref=subject, limit=limit
        )
        emit([m.public() for m in rows], columns=MISSION_COLUMNS)


@app.command("missions")
def missions_cmd(
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 20,
    type: TypeOpt = None,
) -> None:
    """Missions you could take now. Any member."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        rows = missions.available_missions(ctx, limit=limit, type=type)
        emit([m.public(manager=False) for m in rows], columns=MISSION_COLUMNS)


@app.command("assign")
def assign_cmd(mission: MissionArg) -> None:
    """Take a lease on a mission (it expires; answer before then). Any member."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        lease = missions.assign(ctx, mission)
        emit(lease.public(), columns=MISSION_COLUMNS)


@app.command("next")
def next_cmd(type: TypeOpt = None) -> None:
    """Take the oldest mission with a free slot (or resume your live lease). Any member.

    Exit 3 when there is nothing to take.
    """
    from shifty_ent.arcade import missions
    from shifty_ent.core.errors import NotFound

    with command() as ctx:
        lease = missions.next_mission(ctx, type=type)
        if lease is None:
            raise NotFound("no mission is available to you right now")
        emit(lease.public(), columns=MISSION_COLUMNS)


@app.command("release")
def release_cmd(mission: MissionArg) -> None:
    """Give your lease back so someone else can answer. Any member."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        m = missions.release(ctx, mission)
        emit(missions.mission_view(ctx, m), columns=MISSION_COLUMNS)


@app.command("complete")
def complete_cmd(
    mission: MissionArg,
    option: Annotated[str, typer.Option("--option", metavar="VALUE", help="Your answer.")],
    confidence: Annotated[
        float | None, typer.Option("--confidence", metavar="F", help="0-1, how sure you are.")
    ] = None,
    notes: Annotated[str | None, typer.Option("--notes", metavar="TEXT")] = None,
) -> None:
    """Answer a mission you hold a live lease on. Any member (approve_deployment: level 5+)."""
    from shifty_ent.arcade import missions

    with command() as ctx:
        done = missions.complete(ctx, mission, option=option, confidence=confidence, notes=notes)
        emit(done.public())


@app.command("play")
def play_cmd(type: TypeOpt = None) -> None:
    """Interactive loop: see a mission, answer by key, watch XP, levels and badges. Any member.

    Keys: 1-9 answer, s skip, q quit; q and Ctrl-C give the lease back at once. Lease times
    show in your time zone ('user add USER --timezone ZONE').
    """
    import sys

    from rich.console import Console

    from shifty_ent.arcade import play
    from shifty_ent.core import clicklib
    from shifty_ent.core.errors import Interrupted

    with command() as ctx:
        play.check(ctx)  # tenant and role, once before the loop starts
    console = Console(highlight=False)

    def read_key(prompt: str) -> str:
        if sys.stdin.isatty():
            console.print(f"{prompt} > ", end="")
            key = typer.getchar()
            console.print(key)
            return key
        try:
            return str(typer.prompt(prompt))  # end of input raises Abort: quit
        except (clicklib.Abort, EOFError):
            return "q"

    try:
        summary = play.run(command, console, read_key, type=type)
    except KeyboardInterrupt:
        raise Interrupted("interrupted; the mission you held was given back") from None
    s = summary.public()
    console.print(
        f"Session: {s['answered']} answered, {s['skipped']} skipped, +{s['xp_awarded']} XP"
        + (f", badges: {', '.join(s['badges_earned'])}" if s["badges_earned"] else "")
    )


@app.command("leaderboard")
def leaderboard_cmd(
    type: Annotated[
        str,
        typer.Option(
            "--type",
            metavar="BOARD",
            parser=BOARDS,
            help="Which board.",
        ),
    ] = "xp_all_time",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 10,
    min_gold: Annotated[
        int | None,
        typer.Option("--min-gold", metavar="N", help="accuracy: at least N gold answers."),
    ] = None,
) -> None:
    """Top users of the tenant on one board. Any member.

    Examples:
    shifty-ent -t acme arcade leaderboard --type xp_weekly --limit 5
    """
    from shifty_ent.arcade import leaderboard

    with command() as ctx:
        emit(
            leaderboard.leaderboard(ctx, board=type, limit=limit, min_gold=min_gold),
            columns=["rank", "user", "value", "level", "xp", "missions_completed"],
        )


@dataset_app.command("create")
def dataset_create(
    name: Annotated[str, typer.Argument(metavar="NAME")],
    mission_type: Annotated[
        str,
        typer.Option("--mission-type", metavar="T", parser=MISSION_TYPES, help="Mission type."),
    ],
    description: Annotated[str | None, typer.Option("--description", metavar="TEXT")] = None,
    min_agreement: Annotated[
        float, typer.Option("--min-agreement", metavar="F", help="0-1; default 0 (all settled).")
    ] = 0.0,
) -> None:
    """Write settled missions as a JSONL training set + card; register it as a data asset.

    Needs operator or admin.
    """
    from shifty_ent.arcade import datasets

    with command() as ctx:
        ds = datasets.create_dataset(
            ctx,
            name,
            mission_type=mission_type,
            description=description,
            min_agreement=min_agreement,
        )
        emit(ds.public())
    info(f"wrote {ds.rows} rows to {ds.path}")


@dataset_app.command("list")
def dataset_list() -> None:
    """Datasets built from this tenant's missions. Any member."""
    from shifty_ent.arcade import datasets

    with command() as ctx:
        emit(
            [d.public() for d in datasets.list_datasets(ctx)],
            columns=["id", "name", "mission_type", "rows", "min_agreement", "classification"],
        )


@app.command("stats")
def stats_cmd(start: StartOpt = None, end: EndOpt = None) -> None:
    """Missions, users, XP, accuracy, agreement, kappa and time per mission, by type (default:
    the last 30 days). Any member."""
    from shifty_ent.arcade import stats

    with command() as ctx:
        result = stats.arcade_stats(ctx, start=start, end=end)
        if output_format() in ("table", "csv"):
            # one row per mission type and one for all of them; CSV keeps the period on each row
            period = {"start": result["start"], "end": result["end"]}
            rows = result["by_type"] + [{"type": "all", **result["totals"]}]
            if output_format() == "csv":
                rows = [{**period, **row} for row in rows]
            emit(rows, columns=STATS_COLUMNS)
        else:
            emit(result)


@app.command("grant")
def grant_cmd(
    user: Annotated[str, typer.Argument(metavar="USER")],
    xp: Annotated[int, typer.Option("--xp", metavar="N", help="XP to add.")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT")],
) -> None:
    """Grant XP (e.g. reviewers moved from another tool); audited. Needs admin."""
    from shifty_ent.arcade import progression

    with command() as ctx:
        emit(progression.grant_xp(ctx, user, xp, reason).public())
