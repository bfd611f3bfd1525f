"""Secrets: refused with control or non-ASCII characters (never echoed), scrubbed in every form.

Reproduction on main: ``VASTAI_API_KEY=$'vk-...\\r' shifty-ent gpu offers`` printed
``Illegal header value b'Bearer vk-...\\r'`` (the whole key, escaped, which ``scrub`` did not
recognise); ``config show`` revealed a key's last two characters.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shifty_ent.core import secrecy
from tests.conftest import Cli

KEY = "vk-0123456789abcdef"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("VASTAI_API_KEY", KEY + "\r"),
        ("VASTAI_API_KEY", KEY + "\n"),
        ("HF_TOKEN", "hf_t\u00f6kenvalue42"),
        ("HF_TOKEN", "hf_tokenvalue\x1b[2J"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG\t"),
    ],
)
def test_bad_secret_refused_without_echo(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    for argv in (("config", "show"), ("--debug", "config", "show")):
        res = Cli(None)(*argv, user=None, fmt=None)
        assert res.exit_code == 2, res.stderr
        assert var in res.stderr and "control or non-ASCII" in res.stderr
        body = value.strip()[:-2]
        assert body[:12] not in res.stderr + res.stdout
        if "--debug" not in argv:
            assert len(res.stderr.strip().splitlines()) == 1


def test_config_file_secret_checked_too(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text('hf_token = "hf_abc\\u0007defghij"\n')
    res = Cli(None)("config", "show", user=None, fmt=None)
    assert res.exit_code == 2 and "hf_token (from the config file)" in res.stderr
    assert "defghij" not in res.stderr


def test_config_show_reveals_nothing_of_a_secret(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASTAI_API_KEY", KEY)
    shown = json.loads(Cli(None)("config", "show", user=None).stdout)
    assert shown["vastai_api_key"] == {"value": "(set)", "source": "env:VASTAI_API_KEY"}
    assert shown["hf_token"]["value"] is None


def test_scrub_every_form() -> None:
    secrecy.forget_all()
    key = "k3y/with+odd chars"
    secrecy.remember(key)
    texts = [
        f"raw {key}",
        f"repr {key!r}",
        f"bytes {key.encode()!r}",
        "url k3y%2Fwith%2Bodd%20chars",
        "plus k3y%2Fwith%2Bodd+chars",
    ]
    for text in texts:
        assert "odd" not in secrecy.scrub(text), text
    secrecy.forget_all()
    secrecy.remember(KEY + "\r")
    assert KEY not in secrecy.scrub(f"Illegal header value b'Bearer {KEY}\\r'")
    secrecy.forget_all()


def test_boundary_scrubs_messages_and_debug_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shifty_ent.cli import run_with_boundary

    secrecy.forget_all()
    secrecy.remember(KEY)

    def boom() -> None:
        raise RuntimeError(f"Illegal header value b'Bearer {KEY}\\r' (url ?key={KEY})")

    for argv in ([], ["--debug"]):
        assert run_with_boundary(boom, argv) == 1
        err = capsys.readouterr().err
        assert KEY not in err and "****" in err
    secrecy.forget_all()
