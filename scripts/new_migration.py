"""Autogenerate an Alembic revision for one group (developer tool, not shipped).

    python scripts/new_migration.py --rev 0002_data --branch data --message "data: policies" \
        [--down 0001_platform] [--depends 0003_gpu ...]

It migrates a scratch SQLite file to the current heads, diffs it against the tables the code
defines, and writes ``src/shifty_ent/core/migrations/versions/<rev>.py``. Review it, run
``ruff format``, and check it on PostgreSQL with the test suite.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from alembic import command

from shifty_ent.core import store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rev", required=True)
    parser.add_argument("--message", required=True)
    parser.add_argument("--branch")
    parser.add_argument("--down", default="0001_platform")
    parser.add_argument("--depends", nargs="*")
    parser.add_argument(
        "--tables-module", help="only tables of this module, e.g. shifty_ent.data.tables"
    )
    args = parser.parse_args()
    only = None
    if args.tables_module:
        import importlib

        module = importlib.import_module(args.tables_module)
        only = {
            obj.__tablename__
            for obj in vars(module).values()
            if isinstance(obj, type)
            and getattr(obj, "__module__", None) == module.__name__
            and hasattr(obj, "__table__")
        }
    with tempfile.TemporaryDirectory() as tmp:
        engine = store.get_engine(f"sqlite:///{tmp}/scratch.db")
        store.upgrade(engine)
        with engine.begin() as conn:
            cfg = store.alembic_config(engine, conn)
            cfg.attributes["include_tables"] = only
            script = command.revision(
                cfg,
                message=args.message,
                autogenerate=True,
                rev_id=args.rev,
                head=args.down,
                branch_label=args.branch,
                depends_on=args.depends,
                splice=True,
            )
    versions = store.MIGRATIONS_DIR / "versions"
    produced = Path(script.path)  # type: ignore[union-attr]
    target = versions / f"{args.rev}.py"
    produced.rename(target)
    print(target)


if __name__ == "__main__":
    main()
