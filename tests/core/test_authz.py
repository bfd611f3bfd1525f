"""Authorization in one place: each permission is declared once (``<group>/permissions.py``), the
docs list it for every command, and the service function checks it, whoever calls it."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import shifty_ent
from shifty_ent.core import authz
from shifty_ent.core.authz import Permission

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("setup", "gpu", "model", "data", "arcade", "report")
MEMBER_ROLES = ("operator", "labeler", "auditor")
#: command keys whose permission depends on stored state, so a bare run cannot reach it
NEEDS_STATE = {"model train cancel --force": "needs admin only when the job is running"}
#: arguments a command parses before its service runs, so placeholders would fail first
ARGS = {
    "arcade mission create": ["--type", "label_test_output", "--payload", "{}"],
    "model train run": ["--next"],
    "tenant create --data-root": [".", "newtenant"],
}


def _permission_modules() -> dict[str, Any]:
    return {g: importlib.import_module(f"shifty_ent.{g}.permissions") for g in GROUPS}


def _commands() -> dict[str, Permission | None]:
    out: dict[str, Permission | None] = {}
    for module in _permission_modules().values():
        for key, perm in module.COMMANDS.items():
            assert key not in out, f"{key!r} is declared by two groups"
            out[key] = perm
    return out


def _cli_paths() -> dict[str, Any]:
    from shifty_ent.devtools.reference import iter_commands

    return {e.path: e.command for e in iter_commands() if e.path and not e.is_group}


def _gen_roles_doc() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_roles_doc", ROOT / "scripts/gen_roles_doc.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- declarations


def test_every_command_of_the_cli_names_exactly_one_declaration():
    """Each leaf command is listed once (with its permission, or none), and nothing else is."""
    declared = _commands()
    bases = {key.split(" --")[0] for key in declared}
    assert bases == set(_cli_paths())
    for key, perm in declared.items():
        assert perm is None or authz.PERMISSIONS.get(perm.name) is perm, key


def test_every_declared_permission_guards_a_command_and_names_known_roles():
    from shifty_ent.core.tables import ROLES

    _permission_modules()
    used = {p.name for p in _commands().values() if p is not None}
    assert used == set(authz.PERMISSIONS)
    for perm in authz.PERMISSIONS.values():
        assert perm.roles and set(perm.roles) <= {*ROLES, authz.INSTALLATION_ADMIN}, perm.name
        assert perm.summary.endswith("."), perm.name


def test_a_permission_is_declared_once():
    _permission_modules()
    with pytest.raises(ValueError, match="declared twice"):
        authz.declare("gpu.provision", ("operator",), "Again.")
    assert authz.PERMISSIONS["gpu.provision"].roles == ("operator",)


def test_docs_are_generated_from_the_declarations():
    gen = _gen_roles_doc()
    stale = [
        str(path.relative_to(ROOT))
        for path, text in gen.expected().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale: {stale}; run: python scripts/gen_roles_doc.py"
    gpu = (ROOT / "docs/gpu.md").read_text(encoding="utf-8")
    assert "| `gpu budget set` | admin | `gpu.budget.set` |" in gpu


# ---------------------------------------------------------------- the CLI meets the declarations


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every permission checked from now on, in order (service modules are patched in place)."""
    for info in pkgutil.walk_packages(shifty_ent.__path__, "shifty_ent."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # pragma: no cover - an optional extra that is not installed
            continue
    seen: list[str] = []
    real = authz.authorize

    def spy(ctx: Any, permission: Permission, **kw: Any) -> set[str]:
        seen.append(permission.name)
        return real(ctx, permission, **kw)

    for name, module in list(sys.modules.items()):
        if name.startswith("shifty_ent.") and getattr(module, "authorize", None) is real:
            monkeypatch.setattr(module, "authorize", spy)
    yield seen


def _placeholders(key: str, command: Any) -> list[str]:
    """The command path, its flags from ``key`` and a harmless value for every required
    parameter (``--yes`` where it exists, so a prompt never comes first)."""
    path = key.split(" --")[0].split()
    flags = [f"--{f}" for f in key.split(" --")[1:]]
    args: list[str] = list(ARGS.get(key, []))
    for param in command.params:
        opts = list(getattr(param, "opts", []))
        if "--yes" in opts:
            args.append("--yes")
        if not param.required or key in ARGS:
            continue
        value = _placeholder(param)
        args += [value] if param.param_type_name == "argument" else [opts[0], value]
    return [*path, *flags, *args]


def _placeholder(param: Any) -> str:
    """A value of the parameter's type that passes parsing: the first choice, 1, or ``x``."""
    import enum

    annotation = param.type_descriptor.annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str(next(iter(annotation)).value)
    if annotation in (int, float):
        return "1"
    if annotation is Path:
        return "sample.txt"  # written by the test: a FILE argument must exist
    return "x"


def _user_without(cli: Any, roles: tuple[str, ...]) -> str:
    """A member holding every non-admin role except ``roles`` (or a non-member: none left)."""
    rest = [r for r in MEMBER_ROLES if r not in roles]
    if not rest:
        return "stranger"
    name = "without-" + "-".join(sorted(roles)).replace(" ", "_")
    args = ["user", "add", name]
    for role in rest:
        args += ["--role", role]
    cli.ok(*args, tenant="acme")
    return name


def test_each_command_is_refused_by_its_declared_permission(
    cli, tenant, recorded, tmp_path, monkeypatch
):
    """Run every guarded command as a user holding all the other roles: it exits 4, and the
    permission that refused it is the one the docs list for it. So the docs cannot claim one
    thing while the code checks another, and no command skips its check."""
    monkeypatch.chdir(tmp_path)  # a command that got through would write its files here
    (tmp_path / "sample.txt").write_text("sample\n", encoding="utf-8")
    paths = _cli_paths()
    users: dict[tuple[str, ...], str] = {}
    wrong = {}
    for key, perm in _commands().items():
        if perm is None or key in NEEDS_STATE:
            continue
        roles = perm.roles
        if roles not in users:
            users[roles] = _user_without(cli, roles)
        recorded.clear()
        res = cli(*_placeholders(key, paths[key.split(" --")[0]]), user=users[roles], tenant="acme")
        if res.exit_code != 4 or not recorded or recorded[-1] != perm.name:
            wrong[key] = (res.exit_code, list(recorded), res.stderr[-300:])
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())


def test_commands_without_a_role_check_none(cli, tenant, recorded):
    cli.ok("arcade", "types", user="stranger")
    cli.ok("gpu", "types", user="stranger")
    cli.ok("tenant", "list", user="stranger")
    assert recorded == []


# ---------------------------------------------------------------- the gate is in the services


GPU_CALLS = {
    "provision": lambda ctx, m: m["provision"].provision(
        ctx, m["provision"].ProvisionRequest(gpu_type="RTX_4090", max_price="1")
    ),
    "set_budget": lambda ctx, m: m["budget"].set_budget(ctx, monthly="10", hourly=None),
    "budget_status": lambda ctx, m: m["budget"].budget_status(ctx),
    "cost_rows": lambda ctx, m: m["costs"].cost_rows(ctx),
    "terminate": lambda ctx, m: m["terminate"].terminate(ctx, "x"),
    "check_health": lambda ctx, m: m["health"].check_health(ctx, "x"),
    "charges": lambda ctx, m: m["charges"].charges(ctx),
    "reconcile": lambda ctx, m: m["reconcile"].reconcile(ctx),
    "autoscale.clear_rule": lambda ctx, m: m["autoscale"].clear_rule(ctx, "m"),
}


@pytest.mark.parametrize("call", sorted(GPU_CALLS))
def test_gpu_services_refuse_a_labeler_without_the_cli(tenant, make_context, call):
    """A labeler calling gpu services directly is refused (exit 4), as on the command line.

    Reproduction on the old code: ``gpu.service.cost_rows`` (or ``budget_status``,
    ``gpu.charges.charges``) called by a labeler through a Context succeeds, and
    ``check_health`` gets as far as the instance lookup: the role check was only in
    ``gpu/cli.py``, so quickstart, other groups and scripts skipped it.
    """
    from shifty_ent.core.errors import PermissionDenied
    from shifty_ent.gpu import (
        autoscale,
        budget,
        charges,
        costs,
        health,
        provision,
        reconcile,
        terminate,
    )

    modules = {
        "provision": provision,
        "budget": budget,
        "costs": costs,
        "terminate": terminate,
        "health": health,
        "charges": charges,
        "reconcile": reconcile,
        "autoscale": autoscale,
    }
    with make_context(tenant="acme", user="lars") as ctx, pytest.raises(PermissionDenied) as err:
        GPU_CALLS[call](ctx, modules)
    assert err.value.exit_code == 4
    assert "user 'lars' needs role" in str(err.value)


def test_arcade_and_data_services_refuse_a_non_member(tenant, make_context):
    """Reproduction on the old code: ``arcade.progression.profile_view`` and
    ``data.policies.list_policies`` called through a Context by a user of no role return the
    tenant's data: only ``arcade/cli.py`` and ``data/cli.py`` checked the role."""
    from shifty_ent.arcade import progression
    from shifty_ent.core.errors import PermissionDenied
    from shifty_ent.data import policies

    with make_context(tenant="acme", user="mallory") as ctx:
        with pytest.raises(PermissionDenied):
            progression.profile_view(ctx, "alice")
        with pytest.raises(PermissionDenied):
            policies.list_policies(ctx)
    with make_context(tenant="acme", user="lars") as ctx:
        assert policies.list_policies(ctx) == []
        with pytest.raises(PermissionDenied, match="needs role operator or admin"):
            policies.create_policy(ctx, name="p", classifications=["pii"], retention_days=1)
