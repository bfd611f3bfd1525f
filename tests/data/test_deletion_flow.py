"""Request -> approve -> execute on local files, with the certificate a user gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.data.conftest import make_file


def _flow(cli: Any, asset_id: str, method: str) -> dict[str, Any]:
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset_id,
        "--method",
        method,
        "--reason",
        "retention",
        user="olga",
        tenant="acme",
    )
    assert job["status"] == "pending_approval" and job["requested_by"] == "olga"
    approved = cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    assert approved["approved_by"] == "alice"
    return cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")


def test_secure_overwrite_erases_and_certifies(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    f = make_file(root / "sub" / "customers.csv", 300_000)
    asset = register("customers", f)
    done = _flow(cli, asset["id"], "secure_overwrite")
    assert done["status"] == "completed" and done["certificate_id"]
    assert not f.exists() and list((root / "sub").iterdir()) == []
    item = done["items"][0]
    assert item["status"] == "erased" and item["sha256_before"] == asset["sha256"]
    assert [p["pattern"] for p in item["result"]["passes"]] == ["00", "ff", "random"]
    assert item["result"]["passes"][-1]["verified"]
    shown = cli.ok("data", "asset", "show", asset["id"], user="audrey", tenant="acme")
    assert shown["status"] == "deleted"
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    doc = cert["certificate"]
    assert doc["sanitization"]["requested_by"] == "olga"
    assert doc["sanitization"]["approved_by"] == "alice"
    assert doc["media"][0]["nist_category"] == "Clear"
    assert doc["media"][0]["sha256_before"] == asset["sha256"]
    assert any("never Purge" in n for n in doc["media"][0]["notes"])
    ok = cli.ok(
        "data", "certificate", "verify", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert ok["valid"] is True
    out = tmp_path / "cert.json"
    cli.ok(
        "data",
        "certificate",
        "export",
        done["certificate_id"],
        "--out",
        str(out),
        user="audrey",
        tenant="acme",
    )
    res = cli("data", "certificate", "verify", str(out), user=None, tenant=None)
    assert res.exit_code == 0, res.stderr
    assert res.json["valid"] is True


def test_dod_5220_layout(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "x.bin", 50_000)
    asset = register("x", f)
    done = _flow(cli, asset["id"], "dod_5220")
    passes = done["items"][0]["result"]["passes"]
    assert len(passes) == 7
    p = [x["pattern"] for x in passes]
    assert p[2] == p[6] == "random"
    assert int(p[0], 16) ^ 0xFF == int(p[1], 16)
    assert int(p[4], 16) ^ 0xFF == int(p[5], 16)
    assert [bool(x.get("verified")) for x in passes] == [
        False,
        False,
        True,
        False,
        False,
        False,
        True,
    ]
    assert not f.exists()
