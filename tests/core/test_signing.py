"""Installation key and signatures over canonical JSON."""

from __future__ import annotations

import os
import stat

from shifty_ent.core import signing
from shifty_ent.core.canonical import canonical_json


def test_canonical_json_ignores_key_order_and_whitespace():
    a = {"b": 1, "a": [1, 2, {"y": "é", "x": None}]}
    b = {"a": [1, 2, {"x": None, "y": "é"}], "b": 1}
    assert canonical_json(a) == canonical_json(b) == b'{"a":[1,2,{"x":null,"y":"\xc3\xa9"}],"b":1}'


def test_sign_verify_and_tamper(tmp_path):
    pair, created = signing.load_or_create_key(tmp_path / "k.pem")
    assert created
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    doc = {"asset": "x", "passes": 3, "ok": True}
    sig = signing.sign(pair, doc)
    assert signing.verify(doc, sig, pair.public_b64)
    assert not signing.verify({**doc, "passes": 2}, sig, pair.public_b64)
    other, _ = signing.load_or_create_key(tmp_path / "other.pem")
    assert not signing.verify(doc, sig, other.public_b64)
    assert not signing.verify(doc, "not-base64!", pair.public_b64)
    again, created2 = signing.load_or_create_key(tmp_path / "k.pem")
    assert not created2 and again.fingerprint == pair.fingerprint
    assert pair.fingerprint.startswith("SHA256:") and len(pair.fingerprint) == 71


def test_init_creates_key_and_records_public_half(cli, db_url, isolated_env):
    out = cli.ok("init")
    assert out["signing_key_created"] is True
    assert (isolated_env / "signing_key.pem").exists()
    assert (isolated_env / "config.toml").exists()
    again = cli.ok("init")
    assert again["signing_key_created"] is False
    assert again["key_fingerprint"] == out["key_fingerprint"]
    from shifty_ent.core import store

    with store.new_session(store.get_engine(db_url)) as s:
        public = signing.known_public_key(s, out["key_fingerprint"])
    assert public and signing.fingerprint_of(public) == out["key_fingerprint"]


def test_signing_key_path_from_env(cli, tmp_path):
    key = tmp_path / "keys" / "custom.pem"
    out = cli.ok("init", env={"SHIFTY_SIGNING_KEY": str(key)})
    assert out["signing_key"] == str(key) and key.exists()


def test_one_registration_event_per_key(make_context, db_url):
    """On main, PostgreSQL appended another ``signing_key.register`` event every time a command
    signed (27 for one key): the insert's rowcount came back as -1 and read as "inserted"."""
    from sqlalchemy import func, select

    from shifty_ent.core.tables import AuditEvent, SigningKey

    for _ in range(3):
        with make_context() as ctx:
            ctx.signing_key()
    with make_context() as ctx:
        events = ctx.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "signing_key.register")
        )
        keys = ctx.session.scalar(select(func.count()).select_from(SigningKey))
    assert (events, keys) == (1, 1)
