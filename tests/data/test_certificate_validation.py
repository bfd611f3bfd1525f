"""Appendix G fields that fit a CLI: backup locations, classification after, post-sanitization
destination, and a signed validation by a second person.

Reproduction on main (issue 14): a certificate had no "validated by" (no command could add one),
no backup locations, no post-sanitization classification and no destination; an auditor could
only say "valid" on stdout, and nothing signed or recorded who validated it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import erase
from tests.data.conftest import make_file


@pytest.fixture
def done(cli: Any, tenant: Any, root: Path, register: Any) -> dict[str, Any]:
    asset = register("doomed", make_file(root / "doomed.bin", 20_000), "pii")
    return erase(cli, asset["id"], "nist_800_88", "GDPR")


def test_certificate_carries_appendix_g_fields(cli: Any, done: dict[str, Any]) -> None:
    shown = cli.ok("data", "certificate", "show", done["certificate_id"], tenant="acme")
    media = shown["certificate"]["media"][0]
    assert media["classification_after"].startswith("none")
    assert media["post_sanitization_destination"].startswith("reuse")
    assert media["backup_locations"]["known"] == []
    assert "outside shifty-ent" in media["backup_locations"]["unknown_to_tool"]
    assert shown["validations"] == []


def test_auditor_validation_is_signed_recorded_and_shown(cli: Any, done: dict[str, Any]) -> None:
    cert = done["certificate_id"]
    record = cli.ok(
        "data", "certificate", "validate", cert, "--note", "checked against the ticket",
        user="audrey", tenant="acme",
    )  # fmt: skip
    statement = record["statement"]
    assert statement["validated_by"] == "audrey"
    assert statement["identity"] == "declared (not authenticated)"
    assert statement["certificate_id"] == cert
    shown = cli.ok("data", "certificate", "show", cert, tenant="acme")
    assert [(v["validated_by"], v["signature_valid"]) for v in shown["validations"]] == [
        ("audrey", True)
    ]
    # the validation is in the audit chain, and the chain still verifies
    events = cli.ok("report", "audit", "verify", tenant="acme", user="audrey")
    assert events[0]["ok"] is True, events
    # one validation per person
    again = cli("data", "certificate", "validate", cert, user="audrey", tenant="acme")
    assert again.exit_code == 5, again.stderr


def test_validation_signature_is_checked_on_show(
    cli: Any, done: dict[str, Any], db_url: str
) -> None:
    """A validation edited in the store (someone else's name) shows signature_valid false."""
    from sqlalchemy import text

    from shifty_ent.core import store

    cert = done["certificate_id"]
    cli.ok("data", "certificate", "validate", cert, user="audrey", tenant="acme")
    engine = store.get_engine(db_url)
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT id, details FROM audit_events WHERE action = 'data.certificate.validate'")
        ).all()
        assert len(rows) == 1
        details = rows[0][1]
        if isinstance(details, str):
            import json

            details = json.loads(details)
        details["statement"]["note"] = "rubber-stamped"
        import json

        conn.execute(
            text("UPDATE audit_events SET details = :d WHERE id = :i"),
            {"d": json.dumps(details), "i": rows[0][0]},
        )
    shown = cli.ok("data", "certificate", "show", cert, tenant="acme")
    assert [v["signature_valid"] for v in shown["validations"]] == [False]


@pytest.mark.parametrize("user", ["olga", "lars"])
def test_requester_performer_and_non_auditors_cannot_validate(
    cli: Any, done: dict[str, Any], user: str
) -> None:
    res = cli("data", "certificate", "validate", done["certificate_id"], user=user, tenant="acme")
    assert res.exit_code == 4, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    shown = cli.ok("data", "certificate", "show", done["certificate_id"], tenant="acme")
    assert shown["validations"] == []


def test_requester_holding_auditor_role_still_cannot_validate(
    cli: Any, done: dict[str, Any]
) -> None:
    cli.ok("user", "add", "olga", "--role", "auditor", tenant="acme")
    res = cli("data", "certificate", "validate", done["certificate_id"], user="olga", tenant="acme")
    assert res.exit_code == 4, res.stderr
    assert "another person must validate" in res.error["message"]


def test_a_tampered_certificate_is_not_validated(
    cli: Any, done: dict[str, Any], db_url: str
) -> None:
    from sqlalchemy import text

    from shifty_ent.core import store

    with store.get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE deletion_certificates SET document_sha256 = :h"), {"h": "0" * 64})
    res = cli(
        "data", "certificate", "validate", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert res.exit_code == 4, res.stderr
    assert "cannot validate" in res.error["message"]
