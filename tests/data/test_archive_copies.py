"""Issue 14.3: every copy the tool made is listed, and none survives a claim that the data is
gone. On main an asset archived before deletion was certified "Clear ... erased" while its
encrypted archive survived and ``data asset restore`` brought it back byte for byte.

Reproduce on main: a policy with --archive-before-delete --method nist_800_88, run the sweep
past expiry, export the certificate: nist_category Clear, post_sanitization_state "overwritten
... unlinked", no word of the archive; restore then returns the original bytes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file


def _cert(cli: Any, cert_id: str, out: Path) -> dict[str, Any]:
    cli.ok(
        "data", "certificate", "export", cert_id, "--out", str(out), user="audrey", tenant="acme"
    )  # fmt: skip
    return json.loads(out.read_text())["certificate"]


@pytest.fixture
def archived(cli: Any, tenant: Any, root: Path, register: Any) -> dict[str, Any]:
    cli.ok(
        "data", "policy", "create", "conf", "-c", "confidential", "--retention-days", "30",
        "--auto-delete", "--archive-before-delete", "--method", "nist_800_88",
        user="olga", tenant="acme",
    )  # fmt: skip
    f = make_file(root / "rows.csv", 50_000)
    original = f.read_bytes()
    asset = register("rows", f)
    later = datetime.fromisoformat(asset["expires_at"]) + timedelta(days=1)
    swept = cli.ok(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": later.isoformat()}
    )
    assert len(swept["deleted"]) == 1 and len(swept["archived"]) == 1
    return {"asset": asset, "swept": swept, "original": original, "later": later}


def test_certificate_lists_the_surviving_archive_and_claims_no_sanitization(
    cli: Any, archived: dict[str, Any], tmp_path: Path
) -> None:
    body = _cert(cli, archived["swept"]["deleted"][0]["certificate_id"], tmp_path / "c.json")
    media = body["media"][0]
    (copy,) = media["copies"]
    assert (
        copy["kind"] == "archive"
        and copy["location"] == archived["swept"]["archived"][0]["archive"]
    )
    assert copy["fate"].startswith("remains") and copy["erased"] is False
    assert copy["retention_until"]
    assert media["data_remains"] is True
    assert media["nist_category"] == "none" and media["location_nist_category"] == "Clear"
    assert "archive copy remains" in media["post_sanitization_state"]
    assert body["summary"]["copies_remaining"] == 1
    assert Path(copy["location"]).exists()


def test_include_archives_erases_the_archive_of_a_deleted_asset(
    cli: Any, archived: dict[str, Any], root: Path, tmp_path: Path
) -> None:
    archive = Path(archived["swept"]["archived"][0]["archive"])
    job = cli.ok(
        "data", "delete", "request", archived["asset"]["id"], "--method", "nist_800_88",
        "--reason", "subject asked", "--include-archives", user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert done["status"] == "completed" and not archive.exists()
    media = _cert(cli, done["certificate_id"], tmp_path / "c.json")["media"][0]
    (copy,) = media["copies"]
    assert copy["erased"] is True and copy["fate"].startswith("erased")
    assert media["nist_category"] == "Clear" and media["data_remains"] is False
    res = cli(
        "data", "asset", "restore", archived["asset"]["id"], "--to", str(root / "back"),
        "--reason", "try", user="alice", tenant="acme",
    )  # fmt: skip
    assert res.exit_code != 0 and not (root / "back").exists()


def test_sweep_erases_an_archive_past_its_retention_with_a_certificate(
    cli: Any, archived: dict[str, Any], tmp_path: Path
) -> None:
    archive = Path(archived["swept"]["archived"][0]["archive"])
    soon = archived["later"] + timedelta(days=2)
    early = cli.ok(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": soon.isoformat()}
    )
    assert early["archives_erased"] == [] and archive.exists()
    due = archived["later"] + timedelta(days=31)
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": due.isoformat()})
    (entry,) = swept["archives_erased"]
    assert entry["certificate_id"] and not archive.exists()
    media = _cert(cli, entry["certificate_id"], tmp_path / "c.json")["media"][0]
    assert media["copies"][0]["erased"] is True
    again = cli.ok("data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": due.isoformat()})
    assert again["archives_erased"] == []


def test_reports_count_archive_copies(cli: Any, archived: dict[str, Any], tmp_path: Path) -> None:
    docs = {}
    for kind in ("data_inventory", "retention_status"):
        out = tmp_path / f"{kind}.json"
        cli.ok(
            "report", "compliance", "--type", kind, "--format", "json", "--out", str(out),
            tenant="acme", user="audrey",
        )  # fmt: skip
        docs[kind] = json.loads(out.read_text())
    assert docs["data_inventory"]["summary"]["archive_copies"] == 1
    assert docs["data_inventory"]["summary"]["archive_copies_of_deleted_assets"] == 1
    status = docs["retention_status"]
    assert status["summary"]["archive_copies"] == 1
    (row,) = next(s for s in status["sections"] if s["id"] == "archives")["rows"]
    assert row["asset_id"] == archived["asset"]["id"] and row["retention_until"]
