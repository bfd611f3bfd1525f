"""`data asset restore`: an archived, erased asset comes back byte for byte, only for an admin,
only into a new directory below a data root, and a changed archive restores nothing."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file
from tests.model.helpers import count


def _audits(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM audit_events WHERE action = 'data.asset.restore'")


@pytest.fixture
def erased(cli: Any, tenant: Any, root: Path, register: Any) -> dict[str, Any]:
    """A file and a directory, archived and erased by the sweep; returns their records."""
    cli.ok(
        "data", "policy", "create", "conf", "-c", "confidential", "--retention-days", "30",
        "--auto-delete", "--archive-before-delete", user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "policy", "create", "pub", "-c", "public", "--retention-days", "30",
           user="olga", tenant="acme")  # fmt: skip
    single = make_file(root / "rows.csv", 300_000)
    tree = root / "tree"
    make_file(tree / "a.bin", 1000)
    make_file(tree / "sub" / "b.bin", 70_000)
    out = {
        "file": register("rows", single),
        "dir": register("tree", tree),
        "kept": register("kept", make_file(root / "kept.txt"), "public"),
        "bytes": {"file": single.read_bytes(), "b": (tree / "sub" / "b.bin").read_bytes()},
    }
    later = datetime.fromisoformat(out["file"]["expires_at"]) + timedelta(days=1)
    swept = cli.ok(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": later.isoformat()}
    )
    assert len(swept["deleted"]) == 2 and len(swept["archived"]) == 2
    assert not single.exists() and not tree.exists()
    return out


def _restore(cli: Any, ref: str, to: Path, user: str = "alice") -> Any:
    return cli(
        "data", "asset", "restore", ref, "--to", str(to), "--reason", "court order 17",
        user=user, tenant="acme",
    )  # fmt: skip


def test_restore_brings_back_a_file_and_a_tree(
    cli: Any, erased: dict[str, Any], root: Path, db_url: str
) -> None:
    res = _restore(cli, erased["file"]["id"], root / "back")
    assert res.exit_code == 0, res.stderr
    out = res.json
    assert (root / "back" / "rows.csv").read_bytes() == erased["bytes"]["file"]
    assert out["files"] == 1 and out["bytes"] == 300_000
    assert out["sha256"] == erased["file"]["sha256"] and out["sha256_matches"] is True
    assert out["status"] == "deleted"
    assert "register" in res.stderr  # the copy is not governed yet, and the operator is told
    assert oct((root / "back").stat().st_mode & 0o777) == "0o700"

    tree = _restore(cli, "tree", root / "tree-back").json
    assert tree["files"] == 2 and tree["sha256_matches"] is True
    assert (root / "tree-back" / "tree" / "sub" / "b.bin").read_bytes() == erased["bytes"]["b"]
    assert _audits(db_url) == 2
    shown = cli.ok("data", "asset", "show", erased["file"]["id"], tenant="acme")
    assert shown["status"] == "deleted"


def test_restore_refusals_leave_nothing_behind(
    cli: Any, erased: dict[str, Any], root: Path, tmp_path: Path, db_url: str
) -> None:
    (root / "taken").mkdir()
    outside = tmp_path / "elsewhere"
    for ref, to, user, code, words in (
        (erased["file"]["id"], root / "x", "olga", 4, "admin"),
        (erased["file"]["id"], root / "taken", "alice", 2, "already exists"),
        (erased["file"]["id"], outside, "alice", 4, "outside the allowed data roots"),
        (erased["file"]["id"], root / "no" / "such", "alice", 2, "not a directory"),
        (erased["kept"]["id"], root / "y", "alice", 3, "no archive"),
        ("nope", root / "z", "alice", 3, "nope"),
    ):
        res = _restore(cli, ref, to, user)
        assert res.exit_code == code, (to, res.stderr)
        assert words in res.error["message"], res.error
    assert not outside.exists() and not (root / "x").exists()
    assert sorted(os.listdir(root / "taken")) == []

    # one changed byte in the middle of the ciphertext: authentication fails, nothing is written
    archive = Path(cli.ok("data", "asset", "show", "rows", tenant="acme")["archive_location"])
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    res = _restore(cli, "rows", root / "back")
    assert res.exit_code == 2 and "authentication" in res.error["message"]
    assert not (root / "back").exists()
    assert [n for n in os.listdir(root) if n.startswith(".")] == []
    assert _audits(db_url) == 0


@pytest.mark.parametrize("evil", ["../escape.txt", "/abs/escape.txt", "link", "ok/../../up.txt"])
def test_a_crafted_archive_cannot_write_outside_its_directory(
    isolated_env: Path, tmp_path: Path, evil: str
) -> None:
    """Archives are sealed with the tenant key, but unpacking still refuses names that leave the
    target and links, should anyone holding the key craft one."""
    import io
    import json
    import secrets
    import struct
    import tarfile
    import uuid

    from shifty_ent.core.config import load_settings
    from shifty_ent.core.errors import InvalidInput
    from shifty_ent.data import vault
    from shifty_ent.data.archive import MAGIC, archive_dir, extract_archive

    settings = load_settings({})
    tenant_id, asset_id = uuid.uuid4(), uuid.uuid4()
    kek, kid = vault.load_kek(settings, tenant_id, create=True)
    dek = secrets.token_bytes(32)
    header = json.dumps(
        {
            "asset_id": str(asset_id),
            "kek_id": kid,
            "wrapped_key": vault.wrap_key(kek, dek, asset_id.bytes),
        }
    ).encode()
    folder = archive_dir(settings, tenant_id)
    folder.mkdir(parents=True)
    path = folder / "crafted.tar.enc"
    with open(path, "wb") as out:
        out.write(MAGIC + struct.pack(">I", len(header)) + header)
        writer = vault.EncryptingWriter(out, dek, asset_id.bytes)
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            info = tarfile.TarInfo(evil)
            if evil == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = 4
                tar.addfile(info, io.BytesIO(b"evil"))
        writer.close()
    target = tmp_path / "dest" / "restored"
    target.parent.mkdir()
    if evil.startswith("/"):  # the data filter strips the root: it lands inside the target
        extract_archive(settings, path, target, asset_id)
        assert (target / "abs" / "escape.txt").read_bytes() == b"evil"
        assert not Path("/abs").exists()
        return
    with pytest.raises(InvalidInput):
        extract_archive(settings, path, target, asset_id)
    assert os.listdir(target.parent) == []
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "up.txt").exists()
