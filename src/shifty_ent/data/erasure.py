"""Erase one asset's bytes: local files and trees, S3 objects, vault ciphertext.

Each function works on descriptors opened by :mod:`pathsafety`, reports progress through
``save`` (which the executor commits to ``deletion_items`` so a killed run can resume) and
returns the facts a certificate needs. Order for a file: overwrite passes (each fdatasync'd and,
where planned, read back), truncate, commit the random name, rename to it, re-check the inode,
unlink, fsync the directory. Only after that does the caller mark the asset deleted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shifty_ent.core.errors import ExternalServiceError, Refused
from shifty_ent.core.progress import Progress
from shifty_ent.data import medium, overwrite
from shifty_ent.data.pathsafety import (
    COW_FILESYSTEMS,
    DIR_FLAGS,
    FILE_FLAGS,
    Target,
    open_parent,
    open_target,
    scan_tree,
)

Save = Callable[..., None]

CLEAR_NOTE = (
    "File-level overwrite reaches only the blocks the file system maps to the file now; "
    "journals, snapshots, backups, RAID mirrors and SSD wear levelling or spare cells can keep "
    "earlier copies. This is NIST SP 800-88 Clear (logical sanitization in Rev. 2) at best, "
    "never Purge."
)
STANDARD_NOTE = (
    "Deleted, not sanitized: the name was removed and the blocks released to the file system "
    "without overwriting; they stay recoverable until reused."
)


HASH_MARK = "pre_erasure_hash_in_pass_1"
HASH_LOST_NOTE = (
    "The first run was interrupted during pass 1, which computes the pre-erasure SHA-256 by "
    "reading each block just before overwriting it: that hash was never completed, so the "
    "content erased cannot be compared with the content registered. Every pass was run again "
    "from the start."
)


def _cow_note(fs_type: str) -> str:
    return (
        f"The file system ({fs_type}) is copy-on-write or log-structured: overwrites land in new "
        "blocks and the old ones may survive, so this erasure counts as unlink only, not "
        "sanitized. Use a vault asset and cryptographic_erase instead."
    )


def category_for(method: str, fs_type: str, med: dict[str, Any] | None = None) -> str:
    if method == "standard":
        return "none"
    if med is not None and med.get("class") not in (None, "unknown"):
        return medium.overwrite_reach(med)[0]
    if fs_type in COW_FILESYSTEMS:
        return "none"
    return "Clear"


def medium_of(target: Target) -> dict[str, Any]:
    """The medium holding the target (its allowed root: the walk never leaves its device)."""
    return medium.describe(os.path.realpath(target.root))


def _random_name() -> str:
    return f".shifty-erase-{secrets.token_hex(12)}"


def _sha256_fd(fd: int) -> str:
    digest = hashlib.sha256()
    offset = 0
    while True:
        chunk = os.pread(fd, overwrite.BUF, offset)
        if not chunk:
            return digest.hexdigest()
        digest.update(chunk)
        offset += len(chunk)


def _try_lock(fd: int) -> str | None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return "another process holds a lock on the file; it may still have it open"
    return None


def _unlink_renamed(parent_fd: int, name: str, inode: str, *, is_dir: bool, save: Save) -> None:
    """Rename ``name`` to a random name (committed first), re-check the inode, remove, fsync."""
    rnd = _random_name()
    save(renamed_to=rnd)
    os.rename(name, rnd, src_dir_fd=parent_fd, dst_dir_fd=parent_fd)
    overwrite.fault_point("renamed")
    _remove_checked(parent_fd, rnd, inode, is_dir=is_dir)


def _remove_checked(parent_fd: int, name: str, inode: str, *, is_dir: bool) -> None:
    st = os.lstat(name, dir_fd=parent_fd)
    if f"{st.st_dev}:{st.st_ino}" != inode:
        raise Refused(f"{name} was swapped for another file before unlink; it was not removed")
    if is_dir:
        os.rmdir(name, dir_fd=parent_fd)
    else:
        os.unlink(name, dir_fd=parent_fd)
    os.fsync(parent_fd)


def _gone(parent_fd: int, *names: str) -> bool:
    for name in names:
        if not name:
            continue
        try:
            os.lstat(name, dir_fd=parent_fd)
        except FileNotFoundError:
            continue
        return False
    return True


def erase_local(
    path: Path,
    roots: Sequence[Path],
    method: str,
    *,
    item: dict[str, Any],
    save: Save,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Erase a local file or directory tree; resumable from ``item`` (a DeletionItem's fields)."""
    with open_target(path, roots) as target:
        if not target.exists and item.get("renamed_to") and item.get("inode"):
            resumed = _reopen_renamed(target, item["renamed_to"], item["inode"])
            if resumed is not None:
                target = resumed
        if not target.exists:
            if item.get("inode") and not item.get("renamed_to"):
                # the interrupted run recorded the inode but never reached the rename: the file
                # it had started on was moved or removed by someone else, maybe with its data
                raise Refused(
                    f"{path}: the file erasure started on (inode {item['inode']}) is no longer "
                    "at its location; it was moved or removed after the interrupted run and its "
                    "data may survive elsewhere; not certified as erased"
                )
            return _absent(target, method, item)
        if item.get("inode") and target.inode != item["inode"]:
            raise Refused(
                f"{path}: the file erasure started on (inode {item['inode']}) was moved or "
                f"replaced by another file (inode {target.inode}) since erasure started; the "
                "file at the location was not touched and the original's data may survive "
                "elsewhere"
            )
        save(inode=target.inode)
        if target.is_dir:
            return _erase_tree(target, method, item=item, save=save, progress=progress)
        return _erase_file(target, method, item=item, save=save, progress=progress)


def _reopen_renamed(target: Target, renamed: str, inode: str) -> Target | None:
    try:
        st = os.lstat(renamed, dir_fd=target.parent_fd)
    except FileNotFoundError:
        return None
    if f"{st.st_dev}:{st.st_ino}" != inode:
        return None
    flags = DIR_FLAGS if stat.S_ISDIR(st.st_mode) else FILE_FLAGS
    fd = os.open(renamed, flags, dir_fd=target.parent_fd)
    target._fds.append(fd)
    target.fd, target.st, target.name = fd, os.fstat(fd), renamed
    return target


def _absent(target: Target, method: str, item: dict[str, Any]) -> dict[str, Any]:
    """Nothing at the location: finished by the interrupted run (its rename was committed after
    every pass), or never there when erasure ran (``absent``: not sanitized by this tool)."""
    resumed = bool(item.get("inode") and item.get("renamed_to"))
    state = (
        "removed: the interrupted run had overwritten and renamed it, then unlinked it; "
        "confirmed absent"
        if resumed
        else "absent: nothing existed at the location when erasure ran; nothing was overwritten"
    )
    return {
        **({} if resumed else {"outcome": "absent"}),
        "technique": "none" if not resumed else "overwrite + unlink (completed before restart)",
        "nist_category": category_for(method, target.fs_type, medium_of(target))
        if resumed
        else "none",
        "medium": medium_of(target),
        "passes": [],
        "passes_completed": item.get("passes_done", 0),
        "verification": {"result": "passed", "method": "location checked absent"},
        "post_sanitization_state": state,
        "fs_type": target.fs_type,
        "notes": []
        if resumed
        else [
            "The asset's data was not found at its location: this tool sanitized nothing. "
            "Wherever the data went (moved, copied, deleted by other means) is not covered by "
            "this certificate."
        ],
    }


def _erase_file(
    target: Target, method: str, *, item: dict[str, Any], save: Save, progress: Progress | None
) -> dict[str, Any]:
    assert target.fd is not None and target.st is not None and target.inode is not None
    fd, notes = target.fd, []
    lock_note = _try_lock(fd)
    if lock_note:
        notes.append(lock_note)
    passes = overwrite.plan(method)
    size = target.st.st_size
    digest, unmeasured = None, None
    if not item.get("sha256_before") and not item.get("passes_done"):
        if (item.get("marks") or {}).get(HASH_MARK):
            unmeasured = HASH_LOST_NOTE
            notes.append(HASH_LOST_NOTE)
        elif passes:
            # hashed in the first pass, each block read just before it is overwritten; the
            # mark is committed first so that a run killed in that pass is never mistaken for
            # one that had not touched the file
            digest = hashlib.sha256()
            save(marks={HASH_MARK: "started"})
        else:
            sha = _sha256_fd(fd)
            item["sha256_before"], item["size_before"] = sha, size
            save(sha256_before=sha, size_before=size)
    if item.get("passes_done"):
        notes.append(
            "The first run was interrupted after pass "
            f"{item['passes_done']}; every pass was run again from the start."
        )
    progress = progress or Progress()
    progress.plan(target.name, size=overwrite.aligned(size), passes=len(passes))

    def on_pass(index: int, _record: dict[str, Any]) -> None:
        if digest is not None and index == 1:  # the digest is complete with the first pass
            item["sha256_before"], item["size_before"] = digest.hexdigest(), size
            save(passes_done=index, sha256_before=item["sha256_before"], size_before=size)
        else:
            save(passes_done=index)

    records = overwrite.overwrite_fd(
        fd,
        size,
        passes,
        on_pass=on_pass,
        on_bytes=progress.advance,
        on_pass_start=progress.begin_pass,
        digest=digest,
    )
    if passes:
        os.ftruncate(fd, 0)
        os.fsync(fd)
    _unlink_renamed(target.parent_fd, target.name, target.inode, is_dir=False, save=save)
    if not _gone(target.parent_fd, target.name):
        raise Refused(f"{target.path} still exists after unlink")
    result = _file_result(
        method, target.fs_type, records, passes, notes, files=1, med=medium_of(target)
    )
    if unmeasured:
        result["sha256_unmeasured"] = unmeasured
    return result


def _file_result(
    method: str,
    fs_type: str,
    records: list[dict[str, Any]],
    passes: list[overwrite.Pass],
    notes: list[str],
    *,
    files: int,
    med: dict[str, Any] | None = None,
) -> dict[str, Any]:
    category = category_for(method, fs_type, med)
    reason = medium.overwrite_reach(med)[1] if med and med.get("class") != "unknown" else None
    if method == "standard":
        notes.append(STANDARD_NOTE)
    elif reason is not None:
        notes.append(reason)
        if category == "Clear":
            notes.append(CLEAR_NOTE)
    elif fs_type in COW_FILESYSTEMS:
        notes.append(_cow_note(fs_type))
    else:
        notes.append(CLEAR_NOTE)
    verified = [r for r in records if r.get("verified")]
    inline = bool(verified) and all(r.get("readback_o_direct") for r in verified)
    return {
        "technique": "unlink" if not passes else "overwrite + truncate + rename + unlink",
        "nist_category": category,
        "pass_layout": [p.label for p in passes],
        "passes": records if files == 1 else [],
        "passes_completed": len(passes),
        "files": files,
        "verification": {
            "result": "passed",
            "method": (
                "full read-back from the device "
                + ("(O_DIRECT, bypassing the page cache)" if inline else "(page cache dropped)")
                + f" of pass(es) {', '.join(str(r['pass']) for r in verified)}"
                "; name checked absent after unlink"
                if verified
                else "name checked absent after unlink"
            ),
        },
        "post_sanitization_state": (
            "unlinked; data blocks released without overwrite"
            if method == "standard"
            else "overwritten, verified, truncated to 0 bytes and unlinked"
            + ("" if category != "none" else f" (not sanitized: {(med or {}).get('class')})")
        ),
        "fs_type": fs_type,
        "medium": med or {"fs_type": fs_type, "class": "unknown"},
        "notes": notes,
    }


def _erase_tree(
    target: Target, method: str, *, item: dict[str, Any], save: Save, progress: Progress | None
) -> dict[str, Any]:
    assert target.fd is not None and target.inode is not None
    entries = scan_tree(target.fd, target.path)  # refuses unsafe entries before any change
    if not item.get("sha256_before") and not item.get("passes_done"):
        tree, size = hashlib.sha256(), 0
        for entry in sorted((e for e in entries if e.kind == "file"), key=lambda e: e.rel):
            fds = list(open_parent(target.fd, entry.rel))
            try:
                parent = fds[-1] if fds else target.fd
                ffd = os.open(entry.rel[-1], os.O_RDONLY | os.O_NOFOLLOW, dir_fd=parent)
                try:
                    tree.update(
                        "/".join(entry.rel).encode() + b"\0" + _sha256_fd(ffd).encode() + b"\n"
                    )
                finally:
                    os.close(ffd)
            finally:
                for f in reversed(fds):
                    os.close(f)
            size += entry.size
        item["sha256_before"], item["size_before"] = tree.hexdigest(), size
        save(sha256_before=item["sha256_before"], size_before=size)
    passes_layout = overwrite.plan(method)
    progress = progress or Progress()
    progress.plan(
        target.name,
        size=sum(overwrite.aligned(e.size) for e in entries if e.kind == "file"),
        passes=len(passes_layout),
    )
    files, verified_passes, o_direct = 0, 0, False
    for entry in entries:
        fds = list(open_parent(target.fd, entry.rel))
        parent = fds[-1] if fds else target.fd
        try:
            name = entry.rel[-1]
            if entry.kind == "symlink":
                os.unlink(name, dir_fd=parent)
            elif entry.kind == "dir":
                os.rmdir(name, dir_fd=parent)
            else:
                st = os.lstat(name, dir_fd=parent)
                ffd = os.open(name, FILE_FLAGS, dir_fd=parent)
                try:
                    fst = os.fstat(ffd)
                    if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino) or fst.st_nlink > 1:
                        raise Refused(f"{target.path}/{'/'.join(entry.rel)} changed; stopped")
                    passes = overwrite.plan(method)
                    records = overwrite.overwrite_fd(
                        ffd,
                        fst.st_size,
                        passes,
                        on_bytes=progress.advance,
                        on_pass_start=progress.begin_pass,
                    )
                    verified_passes += sum(1 for r in records if r.get("verified"))
                    o_direct = o_direct or any(r.get("o_direct") for r in records)
                    if passes:
                        os.ftruncate(ffd, 0)
                        os.fsync(ffd)
                finally:
                    os.close(ffd)
                rnd = _random_name()
                os.rename(name, rnd, src_dir_fd=parent, dst_dir_fd=parent)
                _remove_checked(parent, rnd, f"{st.st_dev}:{st.st_ino}", is_dir=False)
                files += 1
            os.fsync(parent)
        finally:
            for f in reversed(fds):
                os.close(f)
    _unlink_renamed(target.parent_fd, target.name, target.inode, is_dir=True, save=save)
    result = _file_result(
        method, target.fs_type, [], passes_layout, [], files=files, med=medium_of(target)
    )
    result["post_sanitization_state"] = (
        f"directory tree of {files} file(s) "
        + ("unlinked" if method == "standard" else "overwritten, verified and unlinked")
        + "; directories removed"
    )
    if verified_passes:
        result["verification"]["method"] = (
            f"{verified_passes} full read-back(s) from the device across the files "
            f"(writes {'O_DIRECT' if o_direct else 'buffered'}); tree checked absent after removal"
        )
    return result


# ------------------------------------------------------------------ S3


def s3_credentials_missing(bucket: str, key: str) -> str | None:
    """Why an S3 deletion would fail before sending anything (no credentials resolve here), or
    None. Looks only at this machine's configuration; nothing goes over the network."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        found = boto3.Session().get_credentials()
    except BotoCoreError as exc:
        return f"S3 credentials for s3://{bucket}/{key} cannot be loaded: {exc}"
    if found is None:
        return (
            f"no S3 credentials on this host for s3://{bucket}/{key} (AWS_ACCESS_KEY_ID, "
            "AWS_PROFILE, a shared credentials file or an instance role); it cannot be deleted"
        )
    return None


def s3_client(endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10),
    )


def _s3_versions(client: Any, bucket: str, key: str) -> list[tuple[str, str, bool]]:
    """(key, version_id, is_delete_marker) of every version of exactly ``key``."""
    out: list[tuple[str, str, bool]] = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for v in page.get("Versions", []) or []:
            if v["Key"] == key:
                out.append((v["Key"], v["VersionId"], False))
        for m in page.get("DeleteMarkers", []) or []:
            if m["Key"] == key:
                out.append((m["Key"], m["VersionId"], True))
    return out


def erase_s3(endpoint_url: str | None, bucket: str, key: str) -> dict[str, Any]:
    """Delete every version and delete marker of ``s3://bucket/key``, then check none is left."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = s3_client(endpoint_url)
        found = _s3_versions(client, bucket, key)
        for start in range(0, len(found), 1000):
            batch = found[start : start + 1000]
            resp = client.delete_objects(
                Bucket=bucket,
                Delete={
                    "Objects": [{"Key": k, "VersionId": v} for k, v, _ in batch],
                    "Quiet": True,
                },
            )
            errors = resp.get("Errors") or []
            if errors:
                first = errors[0]
                raise ExternalServiceError(
                    f"S3 refused to delete {len(errors)} version(s) of s3://{bucket}/{key}: "
                    f"{first.get('Code')}: {first.get('Message')}"
                )
        left = _s3_versions(client, bucket, key)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise ExternalServiceError(
            f"S3 error on s3://{bucket}/{key}: {err.get('Code')}: {err.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise ExternalServiceError(f"S3 unreachable for s3://{bucket}/{key}: {exc}") from None
    if left:
        raise ExternalServiceError(
            f"{len(left)} version(s) of s3://{bucket}/{key} remain after deletion"
        )
    versions = sum(1 for _, _, marker in found if not marker)
    markers = len(found) - versions
    return {
        "technique": "delete every object version and delete marker",
        "nist_category": "none",
        "passes": [],
        "passes_completed": 0,
        "versions_deleted": versions,
        "delete_markers_deleted": markers,
        "verification": {
            "result": "passed",
            "method": "ListObjectVersions for the key returned nothing after deletion",
        },
        "post_sanitization_state": (
            f"{versions} version(s) and {markers} delete marker(s) deleted; no version remains"
            if found
            else "no version existed at the location; nothing to delete"
        ),
        "fs_type": "s3",
        "notes": [
            "Object storage cannot be overwritten in place: the provider's deletion is logical "
            "sanitization (NIST SP 800-88 Rev. 2). Provider-side replicas, backups, cross-region "
            "replication targets and media reuse are outside this tool's control; neither Clear "
            "nor Purge is claimed."
        ],
    }


def attest(location: str, scheme: str) -> dict[str, Any]:
    return {
        "technique": "attestation",
        "nist_category": "none",
        "passes": [],
        "passes_completed": 0,
        "verification": {"result": "not verified", "method": "none: attested by the operator"},
        "post_sanitization_state": "attested deleted by the requester and approver; unverified",
        "fs_type": scheme,
        "notes": [
            f"shifty-ent cannot reach {scheme}:// locations; this record attests that the people "
            "named deleted the data by other means. Nothing was erased or verified by this tool."
        ],
    }


def remove_ciphertext(
    path: Path, root: Path, *, progress: Progress | None = None
) -> dict[str, Any]:
    """After key destruction: one verified random pass over the ciphertext, then unlink."""
    with open_target(path, [root]) as target:
        if not target.exists:
            return {"ciphertext": "absent (already removed)"}
        assert target.fd is not None and target.st is not None and target.inode is not None
        passes = overwrite.plan("nist_800_88")
        progress = progress or Progress()
        progress.plan(target.name, size=overwrite.aligned(target.st.st_size), passes=len(passes))
        records = overwrite.overwrite_fd(
            target.fd,
            target.st.st_size,
            passes,
            on_bytes=progress.advance,
            on_pass_start=progress.begin_pass,
        )
        os.ftruncate(target.fd, 0)
        os.fsync(target.fd)
        rnd = _random_name()
        os.rename(target.name, rnd, src_dir_fd=target.parent_fd, dst_dir_fd=target.parent_fd)
        with contextlib.suppress(OSError):
            _remove_checked(target.parent_fd, rnd, target.inode, is_dir=False)
        return {
            "ciphertext": "overwritten with one verified random pass and unlinked",
            "ciphertext_passes": records,
        }


def is_missing_error(exc: OSError) -> bool:
    return exc.errno in (errno.ENOENT, errno.ENOTDIR)
