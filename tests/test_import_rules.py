"""The import rules of docs/architecture.md, checked on the source with ``ast``.

Every ``import`` counts, at module level and inside functions (lazy imports are still
dependencies: they only move the cost to call time). The rules:

- the kernel (``shifty_ent.core``) imports no group, no developer tooling and not the root CLI;
- no cycles between modules;
- only CLI modules import a group's ``cli.py``: services never reach up into a command layer;
- a module of one group imports another group only as ``shifty_ent.<group>.api`` (its package
  ``__init__`` is allowed too, as ``from shifty_ent.gpu import api`` names it, and imports nothing).

Imports by string (``importlib.import_module``) are not seen: the root command's lazy group table,
the store's table discovery and the report registry use them on purpose.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "shifty_ent"
CORE = f"{PACKAGE}.core"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(name: str) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its body."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, path.name == "__init__.py")
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            # `from pkg import mod` names a module; `from mod import func` names the module
            while target and target not in modules():
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE) and target != name:
                found.add(target)
    # parent packages' __init__ files run first too; they are not counted (they import nothing)
    return found


@cache
def graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(imports_of(name)) for name in modules()}


def _group_of(module: str) -> str | None:
    """The top-level part a module belongs to, None for the kernel and the root CLI (so
    ``devtools`` counts as a group here: the kernel must not import it either)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] in ("core", "cli", "__main__"):
        return None
    return parts[1]


def strongly_connected(edges: dict[str, frozenset[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative; yields components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    yield sorted(component)


def test_the_walk_sees_lazy_and_relative_imports() -> None:
    """The checker is not vacuous: function-level imports are edges, and a cycle is found."""
    assert f"{PACKAGE}.core.errors" in graph()[f"{PACKAGE}.cli"]
    assert f"{PACKAGE}.core.store" in graph()[f"{PACKAGE}.setup.service"]
    # lazy, inside a function: the cost report reads the gpu ledger through gpu's api
    assert f"{PACKAGE}.gpu.api" in graph()[f"{PACKAGE}.report.costs"]
    toy = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert list(strongly_connected(toy)) == [["a", "b", "c"]]


def test_core_imports_no_group_and_not_the_cli() -> None:
    bad = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if name == CORE or name.startswith(f"{CORE}.")
        for target in sorted(targets)
        if _group_of(target) is not None or target == f"{PACKAGE}.cli"
    ]
    assert bad == [], "the kernel must not depend on groups or the CLI:\n" + "\n".join(bad)


def test_no_import_cycles() -> None:
    cycles = list(strongly_connected(graph()))
    assert cycles == [], "import cycles (lazy imports included):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_services_do_not_import_a_group_cli() -> None:
    """A group's cli.py is the outermost layer: only other CLI modules may import it."""
    bad = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if not name.endswith(".cli")
        for target in sorted(targets)
        if _group_of(target) is not None and target.endswith(".cli")
    ]
    assert bad == [], "\n".join(bad)


def _allowed_from_another_group(target: str) -> bool:
    group = _group_of(target)
    return target in (f"{PACKAGE}.{group}.api", f"{PACKAGE}.{group}")


def test_groups_reach_each_other_only_through_their_api() -> None:
    """``<group>/api.py`` is a group's whole surface for other groups, reports and the tour:
    views and functions, plus the tables it re-exports for reports' SQL scans."""
    bad = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if (group := _group_of(name)) is not None
        for target in sorted(targets)
        if _group_of(target) not in (None, group) and not _allowed_from_another_group(target)
    ]
    assert bad == [], "import another group only through its api.py:\n" + "\n".join(bad)


def test_group_packages_import_nothing() -> None:
    """A group's ``__init__`` may be imported from anywhere (``from shifty_ent.gpu import api``),
    so it must not carry imports of its own."""
    bad = [
        f"{name} imports {target}"
        for name, targets in graph().items()
        if _group_of(name) is not None and name.count(".") == 1
        for target in sorted(targets)
    ]
    assert bad == [], "\n".join(bad)


def test_the_api_rule_is_not_vacuous() -> None:
    toy = f"{PACKAGE}.gpu.provision"
    assert not _allowed_from_another_group(toy)
    assert _allowed_from_another_group(f"{PACKAGE}.gpu.api")
    assert f"{PACKAGE}.data.api" in graph()[f"{PACKAGE}.model.examples"]
