"""Text no store can keep (NUL, unpaired surrogates): refused at input with exit 2 and one line on
both backends, nothing written; kept escaped where a model or a service produced it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import count, register_args

CREATE_CLASSIFY_ERROR = ("arcade", "mission", "create", "--type", "classify_error", "--payload")
AUDIT_AND_MISSIONS = (
    "SELECT (SELECT count(*) FROM arcade_missions) + (SELECT count(*) FROM audit_events)"
)


def _refused(res: Any) -> str:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.mark.parametrize(
    "payload",
    [
        '{"error": "boom\\u0000"}',
        '{"error": "boom", "meta": {"trace": ["ok", {"deep": "x\\u0000y"}]}}',
        '{"error": "\\ud800 lone surrogate"}',
        '{"error": "key below", "meta": {"k\\u0000": 1}}',
    ],
)
def test_mission_create_refuses_nul_in_payload(
    cli: Any, tenant: Any, db_url: str, tmp_path: Path, payload: str
) -> None:
    """Reproduction: ``arcade mission create --type classify_error --payload
    '{"error": "boom\\u0000"}'`` ended with exit 1 ("unexpected DataError ... unsupported Unicode
    escape sequence") on PostgreSQL and stored the NUL on SQLite; the same from ``@file``."""
    before = count(db_url, AUDIT_AND_MISSIONS)
    res = cli(*CREATE_CLASSIFY_ERROR, payload, tenant="acme", fmt=None)
    assert "--payload" in _refused(res) and "NUL" in res.stderr
    file = tmp_path / "payload.json"
    file.write_text(payload)
    res = cli(*CREATE_CLASSIFY_ERROR, f"@{file}", tenant="acme", fmt=None)
    _refused(res)
    assert count(db_url, AUDIT_AND_MISSIONS) == before


def test_mission_import_refuses_nul_and_imports_nothing(
    cli: Any, tenant: Any, db_url: str, tmp_path: Path
) -> None:
    """Reproduction: a JSONL line ``{"type": "classify_error", "payload": {"error":
    "x\\u0000y"}}`` made ``arcade mission import`` exit 1 on PostgreSQL."""
    good = {"type": "classify_error", "payload": {"error": "fine"}}
    bad = {"type": "classify_error", "payload": {"error": "x\u0000y"}}
    file = tmp_path / "missions.jsonl"
    file.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    before = count(db_url, AUDIT_AND_MISSIONS)
    line = _refused(cli("arcade", "mission", "import", str(file), tenant="acme", fmt=None))
    assert "line 2" in line and "$.payload.error" in line
    assert count(db_url, AUDIT_AND_MISSIONS) == before


def test_answer_with_nul_is_refused(cli: Any, tenant: Any, db_url: str) -> None:
    """An answer's notes with NUL: exit 2 from the command line, and from the service (which
    other code calls) the same refusal, before anything is written."""
    from shifty_ent.arcade import missions
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.core.errors import InvalidInput

    m = cli.ok(
        "arcade",
        "mission",
        "create",
        "--type",
        "classify_error",
        "--payload",
        '{"error": "E"}',
        "--overlap",
        "1",
        user="olga",
        tenant="acme",
    )
    cli.ok("arcade", "assign", m["id"], user="lars", tenant="acme")
    res = cli(
        "arcade",
        "complete",
        m["id"],
        "--option",
        "data",
        "--notes",
        "a\x00b",
        user="lars",
        tenant="acme",
        fmt=None,
    )
    _refused(res)
    settings = load_settings({"database_url": db_url, "tenant": "acme", "user": "lars"})
    with pytest.raises(InvalidInput, match="NUL"), open_context(settings, tenant="required") as ctx:
        missions.complete(ctx, m["id"], option="data", notes="a\x00b")
    assert count(db_url, "SELECT count(*) FROM arcade_answers") == 0


def test_asset_name_with_nul_is_refused(cli: Any, tenant: Any, db_url: str, tmp_path: Path) -> None:
    file = tmp_path / "a.txt"
    file.write_text("hello")
    res = cli(
        "data",
        "asset",
        "register",
        "a\x00b",
        "--type",
        "file",
        "--location",
        str(file),
        "--classification",
        "internal",
        tenant="acme",
        fmt=None,
    )
    _refused(res)
    assert count(db_url, "SELECT count(*) FROM data_assets") == 0


@pytest.mark.parametrize("field", ["description", "lineage"])
def test_the_store_guard_stops_what_no_input_check_saw(
    tenant: Any, db_url: str, make_context: Any, field: str
) -> None:
    """A service that writes unchecked text (a text column, a JSON column) is stopped before
    the driver on both backends: exit 2, never the driver's exit 1, and nothing written."""
    from shifty_ent.core.errors import InvalidInput
    from shifty_ent.model import versions
    from shifty_ent.model.sources import Pin

    pin = Pin("custom", "/ckpt", "sha256:" + "ab" * 32)
    kw: dict[str, Any] = (
        {"description": "a\x00b"} if field == "description" else {"lineage": {"n": ["\x00"]}}
    )
    with pytest.raises(InvalidInput, match="NUL"), make_context(tenant="acme") as ctx:
        versions.add_version(ctx, name="m", pin=pin, **kw)
        ctx.session.flush()
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0
    assert count(db_url, "SELECT count(*) FROM registered_models") == 0


def test_register_config_with_nul_is_refused(
    cli: Any, tenant: Any, db_url: str, tmp_path: Path
) -> None:
    """``model register ... --config 'stop="\\u0000"'`` (a JSON value) crashed PostgreSQL."""
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    res = cli(
        *register_args("m", "custom", str(ckpt)),
        "--config",
        'stop=["\\u0000"]',
        tenant="acme",
        fmt=None,
    )
    assert "--config stop" in _refused(res)
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0


def test_escape_keeps_model_and_service_text() -> None:
    from shifty_ent.core.storable import escape_unstorable, unstorable_path

    out = escape_unstorable({"a\x00": ["x\x00y", "\ud800", 3], "b": "plain"})
    assert out == {"a\\u0000": ["x\\u0000y", "\\ud800", 3], "b": "plain"}
    assert unstorable_path(out) is None
