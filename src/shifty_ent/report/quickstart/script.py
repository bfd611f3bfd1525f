"""The tour itself: what a new user sees, step by step, in forty days of fake time.

A tenant and its people, data under retention policies, then the clock moves: the sweep erases
and certifies, labellers play the arcade and their answers become a data asset, and the auditor
gets signed reports. No account, no network: the sweep's webhook is switched off for the tour.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from shifty_ent.report.quickstart.runner import Tour, TourError

MISSIONS = [
    ({"test_name": "test_login", "output": "PASS: login works"}, ("correct", "correct", "correct")),
    (
        {"test_name": "test_checkout", "output": "FAIL: timeout after 30s"},
        ("incorrect", "incorrect", "correct"),
    ),
    ({"test_name": "test_search", "output": "PASS: 10 results"}, ("correct", "correct", "unsure")),
]


def run_tour(tour: Tour, end: datetime) -> dict[str, Any]:
    files = tour.sandbox / "files"
    t0 = tour.now
    tour.say(f"1. A tenant, its people and its data (clock: {t0:%Y-%m-%d}, 40 days ago)")
    tour.run(
        "tenant",
        "create",
        tour.tenant,
        "--gpu-monthly-budget",
        "500",
        "--gpu-hourly-budget",
        "8",
        "--data-root",
        str(files),
        tenant=False,
    )
    for user, role in (
        ("bob", "admin"),
        ("olga", "operator"),
        ("audrey", "auditor"),
        ("lars", "labeler"),
        ("lena", "labeler"),
        ("lukas", "labeler"),
    ):
        tour.run("user", "add", user, "--role", role, show=user in ("olga", "audrey"))
    tour.run(
        "data",
        "policy",
        "create",
        "personal-30d",
        "-c",
        "pii",
        "-c",
        "confidential",
        "--retention-days",
        "30",
        "--notify-days",
        "7",
        "--auto-delete",
        "--method",
        "secure_overwrite",
        user="olga",
    )
    tour.run(
        "data",
        "policy",
        "create",
        "health-365d",
        "-c",
        "phi",
        "--retention-days",
        "365",
        "--auto-delete",
        "--method",
        "nist_800_88",
        user="olga",
    )
    assets: dict[str, dict[str, Any]] = {}
    for name, rel, cls in (
        ("customers", "crm/customers.csv", "pii"),
        ("litigation-emails", "crm/litigation-emails.mbox", "pii"),
        ("model-notes", "notes/model-notes.txt", "confidential"),
        ("brochure", "public/brochure.txt", "public"),
    ):
        assets[name] = tour.run(
            "data",
            "asset",
            "register",
            name,
            "--type",
            "dataset",
            "--classification",
            cls,
            "--location",
            str(files / rel),
            "--subject",
            "cust-1042",
            user="olga",
            show=name == "customers",
        )
    assets["patients"] = tour.run(
        "data",
        "asset",
        "ingest",
        str(tour.sandbox / "incoming" / "patients.csv"),
        "--name",
        "patients",
        "--classification",
        "phi",
        user="olga",
    )
    tour.say(
        f"   registered {len(assets)} assets (pii, confidential, public; phi in the "
        "encrypted vault)"
    )
    tour.run("data", "asset", "show", "customers", user="audrey")
    tour.run(
        "data", "asset", "hold", "litigation-emails", "--reason", "case 42: preserve", user="olga"
    )

    tour.now = t0 + timedelta(days=35)
    tour.say(
        f"2. Retention expires: the cron sweep erases and certifies (clock: {tour.now:%Y-%m-%d})"
    )
    sweep = tour.run("data", "sweep", user="olga")
    certs = tour.run("data", "certificate", "list", user="audrey", show=False) or []
    gone = [
        n
        for n, rel in (("customers", "crm/customers.csv"), ("model-notes", "notes/model-notes.txt"))
        if not (files / rel).exists()
    ]
    tour.say(
        f"   sweep: {_sweep_line(sweep)}; files gone from disk: {', '.join(gone) or 'none'}; "
        "litigation-emails kept (legal hold)"
    )
    if not certs:
        raise TourError("the sweep issued no deletion certificate")
    cert = certs[0]
    checked = tour.run("data", "certificate", "verify", cert["id"], user="audrey")
    cert_file = tour.sandbox / f"certificate-{cert['id'][:8]}.json"
    tour.run("data", "certificate", "export", cert["id"], "--out", str(cert_file), user="audrey")
    offline = tour.run("report", "verify", str(cert_file), tenant=False)
    tour.say(
        f"   certificate {cert['id'][:8]}: {'valid' if offline['ok'] else 'INVALID'} "
        f"offline ({_reason(checked)})"
    )

    tour.now = t0 + timedelta(days=37)
    tour.say(
        f"3. Labellers play the arcade; answers become a dataset and a data asset "
        f"(clock: {tour.now:%Y-%m-%d})"
    )
    for i, (payload, answers) in enumerate(MISSIONS):
        m = tour.run(
            "arcade",
            "mission",
            "create",
            "--type",
            "label_test_output",
            "--payload",
            json.dumps(payload),
            "--overlap",
            "3",
            user="olga",
            show=i == 0,
        )
        for user, option in zip(("lars", "lena", "lukas"), answers, strict=True):
            tour.run("arcade", "assign", m["id"], user=user, show=False)
            tour.now += timedelta(seconds=45)
            tour.run(
                "arcade",
                "complete",
                m["id"],
                "--option",
                option,
                user=user,
                show=i == 0 and user == "lars",
            )
    board = tour.run("arcade", "leaderboard", user="lars") or []
    top = board[0] if board else {}
    tour.say(
        f"   3 missions settled by consensus; leader: {top.get('user')} "
        f"({top.get('value', top.get('xp', '?'))} XP)"
    )
    ds = tour.run(
        "arcade",
        "dataset",
        "create",
        "test-verdicts-v1",
        "--mission-type",
        "label_test_output",
        user="olga",
    )
    shown = tour.run("data", "asset", "show", str(ds["asset_id"]), user="audrey")
    tour.say(
        f"   dataset test-verdicts-v1: {ds['rows']} rows, registered as data asset "
        f"{str(ds['asset_id'])[:8]} ({shown['classification']})"
    )

    tour.now = end
    tour.say(f"4. Signed evidence for the auditor (clock: {end:%Y-%m-%d}, today)")
    reports = {}
    for kind in ("deletion_audit", "retention_status", "access_audit"):
        out = tour.sandbox / "reports" / f"{kind}.html"
        reports[kind] = tour.run(
            "report",
            "compliance",
            "--type",
            kind,
            "--format",
            "html",
            "--out",
            str(out),
            user="audrey",
            show=kind == "deletion_audit",
        )
    html = Path(reports["deletion_audit"]["path"])
    verified = tour.run("report", "verify", str(html), tenant=False)
    chain = tour.run("report", "audit", "verify", user="audrey")
    tour.say(
        f"   {html.name}: signature {'valid' if verified['ok'] else 'INVALID'}; audit chain "
        f"{'intact' if chain[0]['ok'] else 'BROKEN'} ({chain[0]['events']} events)"
    )
    return {
        "tenant": tour.tenant,
        "sandbox": str(tour.sandbox),
        "database_url": tour.db_url,
        "commands_run": tour.commands,
        "assets_registered": len(assets),
        "assets_erased": gone,
        "certificate_id": cert["id"],
        "certificate_file": str(cert_file),
        "certificate_valid": bool(offline["ok"]),
        "dataset_asset_id": ds["asset_id"],
        "report_files": {k: v["path"] for k, v in reports.items()},
        "report_signature_valid": bool(verified["ok"]),
        "audit_chain_intact": bool(chain[0]["ok"]),
        "key_fingerprint": verified.get("key_fingerprint"),
    }


def _sweep_line(summary: Any) -> str:
    if not isinstance(summary, dict):
        return "done"
    parts = []
    for key in ("erased", "deleted", "jobs", "notices", "archived"):
        value = summary.get(key)
        if isinstance(value, list):
            value = len(value)
        if value:
            parts.append(f"{value} {key}")
    return ", ".join(parts) or "done"


def _reason(checked: Any) -> str:
    if isinstance(checked, dict):
        return str(checked.get("reason") or checked.get("result") or "checked in the store")
    return "checked in the store"


def next_commands(result: dict[str, Any], own_home: bool) -> list[str]:
    """Commands to try on the tour's tenant, as a person types them into a shell.

    They name the tour's store with ``--db`` (which outranks ``SHIFTY_DATABASE_URL`` and the
    config file), so they reach the sandbox whatever store the shell has configured.
    """
    prefix = f"SHIFTY_HOME={shlex.quote(result['sandbox'])} " if own_home else ""
    store = f" --db {shlex.quote(result['database_url'])}" if own_home else ""
    base = f"{prefix}shifty-ent{store} -t {result['tenant']}"
    # an offline check trusts only a pinned (or otherwise trusted) key: pin the sandbox's
    pin = f" --fingerprint {result['key_fingerprint']}" if result.get("key_fingerprint") else ""
    return [
        f"open {shlex.quote(result['report_files']['deletion_audit'])}",
        f"shifty-ent report verify {shlex.quote(result['report_files']['deletion_audit'])}{pin}",
        f"shifty-ent report verify {shlex.quote(result['certificate_file'])}{pin}",
        f"{base} --as audrey report compliance --type data_inventory --format md",
        f"{base} --as olga data asset list",
        f"{base} --as olga data sweep --dry-run",
        f"{base} --as lars arcade missions",
        f"{base} --as audrey report audit verify",
        f"{base} --as olga report costs --format html",
    ]
