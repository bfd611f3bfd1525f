"""The command surface of docs/cli-contract.md, kept here as data, checked against the app.

docs/cli-contract.md is a contract: command paths, their positional arguments and options, the
global options, and the JSON keys that scripts rely on. ``CONTRACT`` below is its command block
(one command per line), and :func:`test_contract_page_matches` fails when the two differ, so a
change to the surface changes both.

Notation, as in the contract: ``NAME``/``<X>`` a positional argument, ``[...]`` optional, ``<A>...``
a variadic argument, ``--opt VALUE`` an option taking a value, ``a|b|c`` the documented values.
Known mismatches are ``xfail(strict=True)``: they turn into failures once fixed, so the mark is
removed with the fix.
"""

from __future__ import annotations

import enum
import json
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------- the contract, as data

CONTRACT = """
quickstart
init
config show
db upgrade
db current
db check
tenant create NAME [--gpu-monthly-budget USD] [--gpu-hourly-budget USD] [--data-root PATH ...]
tenant list
tenant show [<T>]
user add USER --role admin|operator|labeler|auditor [--role ...]
user list
user remove USER [--yes]

gpu types
gpu offers --type T [--count N] [--disk GB] [--region R] [--max-price USD] [--limit N]
gpu provision --type T --max-price USD [--count N] [--disk GB] [--region R] [--model CHECKPOINT] [--image IMAGE] [--wait] [--timeout S]
gpu status <I> [--refresh]
gpu list [--state S] [--refresh]
gpu costs [--start DATE] [--end DATE] [--group-by instance|day|type]
gpu terminate <I> [--yes]
gpu health <I>
gpu reconcile [--dry-run]
gpu budget set [--monthly USD] [--hourly USD]
gpu budget show
gpu autoscale set <MODEL> --min N --max N --target-util F [--checkpoint CHECKPOINT]
gpu autoscale show
gpu autoscale clear <MODEL>

model register NAME --source huggingface|ollama|custom|s3 --source-id ID [--revision REV] [--temperature F] [--max-tokens N] [--config KEY=VALUE ...]
model list
model show <M>
model versions NAME
model alias set NAME ALIAS VERSION
model alias rollback NAME [--to VERSION]
model deploy <M> --instance <I> [--replicas N]
model undeploy <D>
model deployments
model train start --base <M> --dataset <ASSET> [--learning-rate F] [--batch-size N] [--epochs N]
model train run <JOB>
model train list
model train show <JOB>
model train cancel <JOB>
model eval record <M> --type automated|human --metric NAME=VALUE ...
model eval run <M> --dataset <ASSET>
model eval human <M> --dataset <ASSET> --sample N
model eval list <M>
model promote <M> --alias ALIAS

data policy create NAME --classification C [...] --retention-days N [--auto-delete] [--archive-before-delete] [--notify-days N]
data policy list
data policy show <P>
data asset register NAME --type TYPE --classification C --location URI [--size SIZE] [--policy <P>] [--subject ID ...] [--strict-roots]
data asset ingest FILE --name NAME --classification C [--policy <P>]
data asset list [--classification C] [--expiring-within DAYS]
data asset show <A>
data asset hold <A> --reason TEXT
data asset release <A>
data delete request [<A>...] [--subject ID] --method standard|secure_overwrite|cryptographic_erase|dod_5220|nist_800_88 --reason TEXT
data delete approve <J>
data delete execute <J> [--yes]
data delete list
data delete show <J>
data certificate show <C>
data certificate verify <C-or-FILE>
data certificate export <C> --out FILE
data workspace create --type training|evaluation|scratch --size SIZE --ttl DURATION
data workspace list
data workspace destroy <W> [--yes]
data sweep [--dry-run]
data export --out FILE [--subject ID]

arcade profile [USER]
arcade mission create --type T --payload JSON|@FILE [--options A,B,...] [--gold ANSWER] [--overlap N] [--reward XP]
arcade mission import FILE.jsonl
arcade missions [--limit N]
arcade assign <MISSION>
arcade next
arcade complete <MISSION> --option VALUE [--confidence F] [--notes TEXT]
arcade play
arcade leaderboard [--type xp_all_time|xp_weekly|missions|accuracy|streak] [--limit N]
arcade dataset create NAME --mission-type T [--description TEXT] [--min-agreement F]
arcade stats [--start DATE] [--end DATE]

report compliance --type deletion_audit|access_audit|retention_status|data_inventory [--start DATE] [--end DATE] [--format md|html|json|csv|pdf] [--out FILE]
report costs [--start DATE] [--end DATE] [--format md|html|json|csv|pdf] [--out FILE]
report arcade [--start DATE] [--end DATE] [--format md|html|json|csv|pdf] [--out FILE]
report verify FILE
report audit verify
"""  # noqa: E501

# Global options (before the group): option names -> documented values ("" = none listed).
GLOBAL_OPTIONS: dict[tuple[str, ...], str] = {
    ("--db",): "",
    ("--tenant", "-t"): "",
    ("--as",): "",
    ("--output", "-o"): "table|json|jsonl|csv",
    ("--json",): "",
    ("--columns",): "",
    ("--wide",): "",
    ("--debug",): "",
    ("--quiet",): "",
    ("--version",): "",
}

# The contract's "Objects": keys scripts rely on.
JSON_KEYS: dict[str, tuple[str, ...]] = {
    what: tuple(keys.split())
    for what, keys in {
        "instance": "id tenant_id provider provider_instance_id gpu_type gpu_count disk_gb "
        "region status max_price_per_hour price_per_hour model_checkpoint endpoint_url health "
        "created_at terminated_at cost_to_date",
        "deletion job": "id status method asset_ids reason requested_by approved_by "
        "certificate_id created_at completed_at",
        "asset": "id name type classification location size_bytes sha256 policy_id expires_at "
        "legal_hold subjects status",
        "certificate": "id job_id certificate signature key_fingerprint",
        "mission": "id type status overlap answers options settled_result lease_expires_at",
        "profile": "user xp level next_level_xp coins badges streak_days accuracy",
        "model version": "id name version source source_id pinned_revision aliases lineage",
        "training job": "id status base_model_id dataset_id hyperparameters progress metrics",
    }.items()
}

# Mismatches found between the contract and the app; each keeps its test case xfail(strict=True).
KNOWN: dict[str, str] = {}


# ---------------------------------------------------------------- parsing the contract


@dataclass
class Option:
    name: str
    required: bool
    choices: tuple[str, ...] = ()


@dataclass
class Positional:
    label: str
    required: bool
    variadic: bool


@dataclass
class Spec:
    path: str
    line: str
    options: dict[str, Option] = field(default_factory=dict)
    positionals: list[Positional] = field(default_factory=list)


TOKEN = re.compile(r"\[[^\[\]]*\]|<[^>]*>(?:\.\.\.)?|\S+")
CHOICES = re.compile(r"^[a-z0-9_]+(\|[a-z0-9_]+)+$")


def _choices(value: str | None) -> tuple[str, ...]:
    return tuple(value.split("|")) if value and CHOICES.match(value) else ()


def _positional(token: str, required: bool) -> Positional:
    variadic = token.endswith("...")
    return Positional(token.removesuffix("..."), required=required, variadic=variadic)


def parse_line(line: str) -> Spec:
    tokens = TOKEN.findall(line)
    words = []
    while tokens and re.fullmatch(r"[a-z][a-z-]*", tokens[0]):
        words.append(tokens.pop(0))
    spec = Spec(" ".join(words), line)
    last: str | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.startswith("[") and tok.endswith("]"):
            inner = tok[1:-1].split()
            if inner == ["..."]:
                continue  # more values of the previous option
            if inner and inner[0].startswith("--"):
                name = inner[0]
                value = inner[1] if len(inner) > 1 and inner[1] != "..." else None
                if name not in spec.options:
                    spec.options[name] = Option(name, False, _choices(value))
                last = name
            else:
                spec.positionals.append(_positional(inner[0], required=False))
            continue
        if tok.startswith("--"):
            value = None
            if i < len(tokens) and not tokens[i].startswith(("-", "[")):
                value = tokens[i]
                i += 1
            spec.options[tok] = Option(tok, True, _choices(value))
            last = tok
            continue
        if tok == "...":
            continue  # repeated option value (--metric NAME=VALUE ...)
        assert last is None, f"positional {tok!r} after options in: {line}"
        spec.positionals.append(_positional(tok, required=True))
    return spec


SPECS = [parse_line(ln) for ln in CONTRACT.strip().splitlines() if ln.strip()]


def test_contract_table_parses():
    """The table itself: every group is there and paths are unique."""
    paths = [s.path for s in SPECS]
    assert len(paths) == len(set(paths))
    assert {p.split()[0] for p in paths} == {
        "quickstart", "init", "config", "db", "tenant", "user",
        "gpu", "model", "data", "arcade", "report",
    }  # fmt: skip
    req = next(s for s in SPECS if s.path == "data delete request")
    assert req.positionals == [Positional("<A>", required=False, variadic=True)]
    assert req.options["--method"].choices[-1] == "nist_800_88"
    assert not req.options["--subject"].required and req.options["--reason"].required
    pol = next(s for s in SPECS if s.path == "data policy create")
    assert set(pol.options) == {
        "--classification", "--retention-days", "--auto-delete",
        "--archive-before-delete", "--notify-days",
    }  # fmt: skip
    assert next(s for s in SPECS if s.path == "tenant show").positionals[0].required is False


PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli-contract.md"


def test_contract_page_matches() -> None:
    """docs/cli-contract.md's command block is ``CONTRACT``, line for line."""
    text = PAGE.read_text(encoding="utf-8")
    block = re.search(r"^## Commands$.*?^```text\n(.*?)^```$", text, flags=re.M | re.S)
    assert block is not None, f"{PAGE} has no ```text block under '## Commands'"
    assert block.group(1).strip().splitlines() == CONTRACT.strip().splitlines()


# ---------------------------------------------------------------- the app's command tree


def walk_app() -> dict[str, Any]:
    """Command path ('' for the root) -> the loaded click command (lazy groups expanded)."""
    from shifty_ent.devtools.reference import iter_commands

    return {entry.path: entry.command for entry in iter_commands()}


@pytest.fixture(scope="module")
def tree() -> dict[str, Any]:
    return walk_app()


def _option_names(param: Any) -> list[str]:
    return [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]


def _is_argument(param: Any) -> bool:
    return param.param_type_name == "argument"


def _declared_choices(param: Any) -> tuple[str, ...] | None:
    """Values a parameter's type restricts it to (an Enum or Literal), or None for free text."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is None:  # click without typer's descriptor
        choices = getattr(getattr(param, "type", None), "choices", None)
        return tuple(str(c) for c in choices) if choices else None
    if typing.get_origin(annotation) in (list, tuple):
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(str(m.value) for m in annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return None


def check(spec: Spec, cmd: Any) -> list[str]:
    """Every way ``cmd`` falls short of ``spec``; empty when it honours the contract."""
    problems: list[str] = []
    if cmd is None:
        return [f"`{spec.path}` does not exist"]
    if getattr(cmd, "commands", None) is not None:
        return [f"`{spec.path}` is a group, not a command"]
    params = list(getattr(cmd, "params", []))
    by_name = {n: p for p in params if not _is_argument(p) for n in _option_names(p)}
    for opt in spec.options.values():
        param = by_name.get(opt.name)
        if param is None:
            problems.append(f"`{spec.path}` has no option {opt.name}")
            continue
        if param.required and not opt.required:
            problems.append(
                f"`{spec.path}` requires {opt.name}, which the contract shows as optional"
            )
        declared = _declared_choices(param)
        # free-text options (validated by the service) are checked by running them, below
        if opt.choices and declared is not None:
            missing = [c for c in opt.choices if c not in declared]
            if missing:
                problems.append(f"`{spec.path} {opt.name}` does not accept {missing}")
    documented = {n for o in spec.options.values() for n in _option_names(by_name.get(o.name))}
    for param in params:
        if (
            not _is_argument(param)
            and param.required
            and not set(_option_names(param)) & documented
        ):
            problems.append(
                f"`{spec.path}` requires {_option_names(param)[0]}, "
                "which the contract does not show"
            )
    arguments = [p for p in params if _is_argument(p)]
    for i, pos in enumerate(spec.positionals):
        if i >= len(arguments):
            problems.append(f"`{spec.path}` takes no positional argument {pos.label}")
            continue
        arg = arguments[i]
        if pos.variadic and arg.nargs != -1:
            problems.append(f"`{spec.path}` takes one {pos.label}, the contract shows several")
        if not pos.required and arg.required:
            problems.append(
                f"`{spec.path}` requires {pos.label}, which the contract shows as optional"
            )
    for arg in arguments[len(spec.positionals) :]:
        if arg.required:
            problems.append(f"`{spec.path}` requires an extra argument {arg.name.upper()}")
    return problems


def _cases() -> Iterator[Any]:
    for spec in SPECS:
        marks = []
        if spec.path in KNOWN:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN[spec.path]))
        yield pytest.param(spec, id=spec.path.replace(" ", "-"), marks=marks)


@pytest.mark.parametrize("spec", list(_cases()))
def test_command_matches_contract(spec: Spec, tree: dict[str, Any]) -> None:
    assert check(spec, tree.get(spec.path)) == [], spec.line


def test_checker_catches_drift(tree: dict[str, Any]) -> None:
    """The checker is not vacuous: a renamed option, a lost argument, a narrowed choice fail."""
    cmd = tree["report compliance"]
    bad = parse_line("report compliance --kind X [--start DATE] --format md|docx")
    assert check(bad, cmd) == [
        "`report compliance` has no option --kind",
        "`report compliance --format` does not accept ['docx']",
        "`report compliance` requires --type, which the contract does not show",
    ]
    assert check(parse_line("gpu status"), tree["gpu status"]) == [
        "`gpu status` requires an extra argument INSTANCE"
    ]
    assert check(parse_line("gpu types <X>"), tree["gpu types"]) == [
        "`gpu types` takes no positional argument <X>"
    ]
    assert check(parse_line("gpu nope"), tree.get("gpu nope")) == ["`gpu nope` does not exist"]
    assert check(parse_line("gpu budget"), tree["gpu budget"]) == [
        "`gpu budget` is a group, not a command"
    ]


def test_global_options(tree: dict[str, Any]) -> None:
    root = tree[""]
    by_name = {n: p for p in root.params for n in _option_names(p)}
    for names, values in GLOBAL_OPTIONS.items():
        params = {id(by_name.get(n)) for n in names}
        assert None not in [by_name.get(n) for n in names], f"missing global option {names}"
        assert len(params) == 1, f"{names} are not one option"
        declared = _declared_choices(by_name[names[0]])
        if values:
            assert declared is not None and set(values.split("|")) <= set(declared)


def test_every_group_is_a_root_command(tree: dict[str, Any]) -> None:
    from shifty_ent.cli import GROUPS

    assert {s.path.split()[0] for s in SPECS} <= set(GROUPS)


# ---------------------------------------------------------------- global options' environment


def test_global_options_from_environment(db_url: str, cli: Any, tenant: Any) -> None:
    """SHIFTY_DATABASE_URL, SHIFTY_TENANT, SHIFTY_USER and SHIFTY_OUTPUT stand in for the flags;
    DATABASE_URL is the fallback for the database."""
    from tests.conftest import Cli

    bare = Cli(None)
    env = {
        "SHIFTY_DATABASE_URL": db_url,
        "SHIFTY_TENANT": "acme",
        "SHIFTY_USER": "olga",
        "SHIFTY_OUTPUT": "json",
    }
    res = bare("user", "list", user=None, fmt=None, env=env)
    assert res.exit_code == 0, res.stderr
    assert {u["user"] for u in res.json} >= {"alice", "olga", "lars", "audrey"}
    made = bare("data", "policy", "create", "p1", "--classification", "internal",
                "--retention-days", "30", user=None, fmt=None, env=env)  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert made.json["created_by"] == "olga"
    fallback = {k: v for k, v in env.items() if k != "SHIFTY_DATABASE_URL"}
    fallback["DATABASE_URL"] = db_url
    res = bare("tenant", "show", user=None, fmt=None, env=fallback)
    assert res.exit_code == 0, res.stderr
    assert res.json["name"] == "acme"
    jsonl = bare("tenant", "list", user=None, fmt=None, env={**env, "SHIFTY_OUTPUT": "jsonl"})
    assert [json.loads(x)["name"] for x in jsonl.stdout.splitlines()] == ["acme"]
    # the flag wins over the environment
    flagged = bare("--tenant", "nope", "user", "list", user=None, fmt=None, env=env)
    assert flagged.exit_code == 3


# The contract's environment variables -> the setting each feeds (as `config show` names them).
DOCUMENTED_ENV = {
    "VASTAI_API_KEY": ("vastai_api_key", "vk-1"),
    "VASTAI_URL": ("vastai_url", "http://vast.test"),
    "HF_TOKEN": ("hf_token", "hf_a"),
    "HUGGINGFACE_API_TOKEN": ("hf_token", "hf_b"),
    "HF_ENDPOINT": ("hf_endpoint", "http://hub.test"),
    "OLLAMA_HOST": ("ollama_host", "http://ollama.test:1"),
    "OLLAMA_ENDPOINT": ("ollama_host", "http://ollama.test:2"),
    "AWS_ENDPOINT_URL_S3": ("s3_endpoint_url", "http://s3.test:9"),
    "SHIFTY_SIGNING_KEY": ("signing_key_path", "/keys/shifty.key"),
    "SHIFTY_NOTIFY_WEBHOOK": ("notify_webhook", "http://hook.test/x"),
    "SHIFTY_AUDIT_WITNESS": ("audit_witness", "s3://witness/audit"),
    "SHIFTY_VAULT_KMS": ("vault_kms", "aws"),
    "AWS_ENDPOINT_URL_KMS": ("kms_endpoint_url", "http://kms.test:9"),
}


@pytest.mark.parametrize("var", sorted(DOCUMENTED_ENV))
def test_documented_environment_variables(var: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import Cli

    for other in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(other, raising=False)
    setting, value = DOCUMENTED_ENV[var]
    res = Cli(None)("config", "show", user=None, env={var: value})
    assert res.exit_code == 0, res.stderr
    shown = res.json[setting]
    assert shown["source"] == f"env:{var}"
    if setting in ("vastai_api_key", "hf_token"):
        assert value not in res.stdout  # secrets masked
    else:
        assert shown["value"] == value


def test_vastai_url_default() -> None:
    from tests.conftest import Cli

    res = Cli(None)("config", "show", user=None)
    assert res.json["vastai_url"]["value"] == "https://console.vast.ai"


def test_version_and_json_shorthand(cli: Any, tenant: Any) -> None:
    from shifty_ent import __version__

    res = cli("--version", user=None, fmt=None)
    assert res.exit_code == 0 and res.stdout.strip() == f"shifty-ent {__version__}"
    shown = cli("--json", "tenant", "show", tenant="acme", fmt=None)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["name"] == "acme"
    err = cli("--json", "tenant", "show", "nope", fmt=None)
    assert err.exit_code == 3 and err.stdout == ""
    body = json.loads(err.stderr.strip().splitlines()[-1])["error"]
    assert body["exit_code"] == 3 and body["type"] and "nope" in body["message"]


# ---------------------------------------------------------------- JSON keys of each object


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MONEY_KEYS = {"max_price_per_hour", "price_per_hour", "cost_to_date"}
UUID_KEYS = {
    "id", "tenant_id", "job_id", "policy_id", "certificate_id", "base_model_id", "dataset_id",
}  # fmt: skip


def assert_format(obj: dict[str, Any], what: str) -> None:
    """The contract's JSON rules: full UUIDs, times with offset, money as decimal strings."""
    for key, value in obj.items():
        if value is None:
            continue
        if key in UUID_KEYS:
            assert isinstance(value, str) and UUID.fullmatch(value), (what, key, value)
        elif key == "asset_ids":
            assert all(UUID.fullmatch(v) for v in value), (what, key, value)
        elif key.endswith("_at"):
            parsed = datetime.fromisoformat(value)
            assert parsed.utcoffset() is not None, (what, key, value)
        elif key in MONEY_KEYS:
            assert isinstance(value, str) and Decimal(value) >= 0, (what, key, value)


def assert_keys(obj: Any, what: str) -> None:
    assert isinstance(obj, dict), f"{what}: expected an object, got {obj!r}"
    missing = [k for k in JSON_KEYS[what] if k not in obj]
    assert missing == [], f"{what} JSON lacks {missing}; has {sorted(obj)}"
    assert_format(obj, what)


def assert_list_keys(rows: Any, what: str, ident: str) -> None:
    assert isinstance(rows, list), f"{what} list: expected an array"
    row = next(r for r in rows if r["id"] == ident)
    assert_keys(row, what)


@pytest.fixture
def data_root(tmp_path: Path, cli: Any, tenant: Any) -> Path:
    path = tmp_path / "dataroot"
    path.mkdir()
    cli.ok("tenant", "root", "add", str(path), "-t", "acme")
    return path


def _register_asset(cli: Any, root: Path, name: str = "customers") -> dict[str, Any]:
    f = root / f"{name}.csv"
    f.write_bytes(b"id,email\n1,a@example.com\n" * 200)
    return cli.ok(
        "data", "asset", "register", name, "--type", "dataset",
        "--classification", "confidential", "--location", str(f), "--subject", "user-42",
        user="olga", tenant="acme",
    )  # fmt: skip


def test_json_asset(cli: Any, tenant: Any, data_root: Path) -> None:
    asset = _register_asset(cli, data_root)
    assert_keys(asset, "asset")
    for ref in (asset["id"], asset["id"][:8], "customers"):  # <A>: id, unique prefix or name
        shown = cli.ok("data", "asset", "show", ref, tenant="acme")
        assert_keys(shown, "asset")
        assert shown["id"] == asset["id"]
    assert_list_keys(cli.ok("data", "asset", "list", tenant="acme"), "asset", asset["id"])
    lines = cli("data", "asset", "list", tenant="acme", fmt="jsonl").stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["id"] == asset["id"]


def _request_deletion(cli: Any, asset_id: str) -> dict[str, Any]:
    return cli.ok(
        "data", "delete", "request", asset_id, "--method", "secure_overwrite",
        "--reason", "retention", user="olga", tenant="acme",
    )  # fmt: skip


def test_json_deletion_job(cli: Any, tenant: Any, data_root: Path) -> None:
    job = _request_deletion(cli, _register_asset(cli, data_root)["id"])
    assert_keys(job, "deletion job")
    assert_keys(cli.ok("data", "delete", "show", job["id"][:8], tenant="acme"), "deletion job")
    assert_list_keys(cli.ok("data", "delete", "list", tenant="acme"), "deletion job", job["id"])
    approved = cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    assert_keys(approved, "deletion job")
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert_keys(done, "deletion job")


def test_json_certificate(cli: Any, tenant: Any, data_root: Path) -> None:
    job = _request_deletion(cli, _register_asset(cli, data_root)["id"])
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    cert = cli.ok("data", "certificate", "show", done["certificate_id"][:8], tenant="acme")
    assert_keys(cert, "certificate")
    assert cert["id"] == done["certificate_id"] and cert["job_id"] == job["id"]
    assert isinstance(cert["certificate"], dict) and cert["signature"]


def test_json_instance(cli: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.vastai import API_KEY, FakeVast

    with FakeVast() as vast:
        monkeypatch.setenv("VASTAI_URL", vast.url)
        monkeypatch.setenv("VASTAI_API_KEY", API_KEY)
        monkeypatch.setenv("VASTAI_TIMEOUT", "5")
        vast.add_offer(1, dph_base=0.40)
        inst = cli.ok("gpu", "provision", "--type", "RTX_4090", "--max-price", "0.60",
                      tenant="acme")  # fmt: skip
        assert_keys(inst, "instance")
        assert_keys(cli.ok("gpu", "status", inst["id"][:8], tenant="acme"), "instance")
        assert_list_keys(cli.ok("gpu", "list", tenant="acme"), "instance", inst["id"])
        gone = cli.ok("gpu", "terminate", inst["id"], "--yes", tenant="acme")
        assert_keys(gone, "instance")


def _mission(cli: Any) -> dict[str, Any]:
    payload = json.dumps({"output": "PASS: login works", "test_name": "test_login"})
    return cli.ok(
        "arcade", "mission", "create", "--type", "label_test_output", "--payload", payload,
        user="olga", tenant="acme",
    )  # fmt: skip


def test_json_mission(cli: Any, tenant: Any) -> None:
    mission = _mission(cli)
    assert_keys(mission, "mission")
    assert_keys(cli.ok("arcade", "mission", "show", mission["id"][:8], tenant="acme"), "mission")
    assert_list_keys(cli.ok("arcade", "mission", "list", tenant="acme"), "mission", mission["id"])
    assigned = cli.ok("arcade", "assign", mission["id"], user="lars", tenant="acme")
    assert_keys(assigned, "mission")
    assert assigned["lease_expires_at"]


def test_json_profile(cli: Any, tenant: Any) -> None:
    profile = cli.ok("arcade", "profile", "lars", tenant="acme")
    missing = [k for k in JSON_KEYS["profile"] if k not in profile]
    assert missing == [], f"profile JSON lacks {missing}; has {sorted(profile)}"
    assert profile["user"] == "lars"
    own = cli.ok("arcade", "profile", user="lars", tenant="acme")
    assert [k for k in JSON_KEYS["profile"] if k not in own] == []


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    root = tmp_path / "ckpt"
    root.mkdir()
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "weights.bin").write_bytes(b"\1\2\3" * 100)
    return root


def _register_model(cli: Any, checkpoint: Path) -> dict[str, Any]:
    return cli.ok(
        "model", "register", "tiny", "--source", "custom", "--source-id", str(checkpoint),
        tenant="acme",
    )  # fmt: skip


def test_json_model_version(cli: Any, tenant: Any, checkpoint: Path) -> None:
    version = _register_model(cli, checkpoint)
    assert_keys(version, "model version")
    for ref in (version["id"], version["id"][:8], "tiny"):
        shown = cli.ok("model", "show", ref, tenant="acme")
        assert_keys(shown, "model version")
        assert shown["id"] == version["id"]
    assert_list_keys(cli.ok("model", "list", tenant="acme"), "model version", version["id"])
    assert_list_keys(
        cli.ok("model", "versions", "tiny", tenant="acme"), "model version", version["id"]
    )


def test_json_training_job(cli: Any, tenant: Any, checkpoint: Path, data_root: Path) -> None:
    base = _register_model(cli, checkpoint)
    data = data_root / "train.jsonl"
    data.write_text("".join(json.dumps({"text": f"line {i}"}) + "\n" for i in range(8)))
    dataset = cli.ok(
        "data", "asset", "register", "train", "--type", "dataset",
        "--classification", "internal", "--location", str(data), tenant="acme",
    )  # fmt: skip
    job = cli.ok(
        "model", "train", "start", "--base", base["id"], "--dataset", dataset["id"],
        "--learning-rate", "0.01", "--batch-size", "4", "--epochs", "1", tenant="acme",
    )  # fmt: skip
    assert_keys(job, "training job")
    assert job["base_model_id"] == base["id"] and job["dataset_id"] == dataset["id"]
    assert_keys(cli.ok("model", "train", "show", job["id"][:8], tenant="acme"), "training job")
    assert_list_keys(cli.ok("model", "train", "list", tenant="acme"), "training job", job["id"])
    cancelled = cli.ok("model", "train", "cancel", job["id"], tenant="acme")
    assert_keys(cancelled, "training job")


# ---------------------------------------------------------------- values of free-text options
# Options the contract lists values for but the app types as plain text (the service validates):
# each documented value must be accepted, i.e. not refused as invalid input (exit 2).


def test_documented_values_are_accepted(cli: Any, tenant: Any, data_root: Path) -> None:
    roles = next(s for s in SPECS if s.path == "user add").options["--role"].choices
    for i, role in enumerate(roles):
        row = cli.ok("user", "add", f"u{i}", "--role", role, tenant="acme")
        assert role in row["roles"]
    for c in ("public", "internal", "confidential", "restricted", "pii", "phi"):
        asset = _register_asset(cli, data_root, name=f"a-{c}")
        assert asset["classification"] == "confidential"
        f = data_root / f"c-{c}.bin"
        f.write_bytes(b"x" * 64)
        row = cli.ok(
            "data", "asset", "register", f"c-{c}", "--type", "dataset",
            "--classification", c, "--location", str(f), tenant="acme",
        )  # fmt: skip
        assert row["classification"] == c
    methods = next(s for s in SPECS if s.path == "data delete request").options["--method"]
    for m in (*methods.choices, "bogus"):
        if m == "cryptographic_erase":  # needs an asset encrypted from its first write
            src = data_root / "plain.bin"
            src.write_bytes(b"secret" * 100)
            asset = cli.ok(
                "data", "asset", "ingest", str(src), "--name", f"m-{m}",
                "--classification", "pii", user="olga", tenant="acme",
            )  # fmt: skip
        else:
            asset = _register_asset(cli, data_root, name=f"m-{m}")
        res = cli(
            "data", "delete", "request", asset["id"], "--method", m, "--reason", "contract",
            user="olga", tenant="acme",
        )  # fmt: skip
        if m == "bogus":  # the loop can fail: an unknown method is refused
            assert res.exit_code == 2 and "bogus" in res.error["message"]
        else:
            assert res.exit_code == 0, (m, res.stderr)
            assert res.json["method"] == m
    spaces = next(s for s in SPECS if s.path == "data workspace create").options["--type"]
    for kind in spaces.choices:
        res = cli(
            "data", "workspace", "create", "--type", kind, "--size", "1MB", "--ttl", "1h",
            tenant="acme",
        )  # fmt: skip
        assert res.exit_code == 0, (kind, res.stderr)
        assert res.json["type"] == kind
    for group in next(s for s in SPECS if s.path == "gpu costs").options["--group-by"].choices:
        res = cli("gpu", "costs", "--group-by", group, tenant="acme")
        assert res.exit_code == 0, (group, res.stderr)
    for board in next(s for s in SPECS if s.path == "arcade leaderboard").options["--type"].choices:
        res = cli("arcade", "leaderboard", "--type", board, tenant="acme")
        assert res.exit_code == 0, (board, res.stderr)
    res = cli("arcade", "leaderboard", "--type", "no_such_board", tenant="acme")
    assert res.exit_code == 2  # the check above can fail: unknown values are refused


def test_gpu_types_lists_documented_types(cli: Any, tenant: Any) -> None:
    listed = json.dumps(cli.ok("gpu", "types", tenant="acme"))
    for gpu_type in ("RTX_3090", "RTX_4090", "A100_40GB", "A100_80GB", "H100"):
        assert f'"{gpu_type}"' in listed, gpu_type
