"""Examples from a dataset asset, read the same way by training and by evaluation.

A dataset is one asset (docs/datasets.md): a JSONL file, or a directory holding ``data.jsonl``
and its card, which is what ``arcade dataset create`` registers. The JSONL is opened without
following a symbolic link (at the asset's location or inside its directory) and must be a regular
file, so a link planted in a dataset directory cannot make a job read some other file.

Rows that name their ``options`` (every arcade row) and plain ``text`` + ``label`` rows are
classification examples: their prompt is rendered with the model version's template (the arcade's
default for versions without one), training learns the completion (one space and the label), and
evaluation scores the options after the very same prompt. Other shapes train as before: ``text``,
``prompt`` + ``completion``/``response``, ``input`` + ``output``/``label``, chat ``messages``.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused
from shifty_ent.data import api as data_api
from shifty_ent.model.finetune import Example

MAX_DATASET_BYTES = 1 << 30
MAX_EXAMPLES = 1_000_000
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


@dataclass(frozen=True)
class DatasetFile:
    """The JSONL of a dataset asset as read: where, its SHA-256 and its rows."""

    asset: data_api.AssetView
    path: Path
    sha256: str
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class Choice:
    """A classification example: the rendered prompt, the answers offered, the gold label."""

    text: str
    prompt: str
    options: list[str]
    label: str


def _open_nofollow(path: Path, what: str, dir_fd: int | None = None) -> int:
    try:
        return os.open(path if dir_fd is None else path.name, OPEN_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise NotFound(f"{what} {path} is missing") from None
    except ValueError:  # a NUL in the stored location
        raise InvalidInput(f"{what} {path!r} is not a usable path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{what} {path} is a symbolic link; links are not followed") from None
        raise InvalidInput(f"cannot read {what} {path}: {exc.strerror}") from None


def read_jsonl_bytes(location: Path, name: str) -> tuple[Path, bytes]:
    """(path, content) of the JSONL of the asset at ``location``: the file itself, or the
    ``data.jsonl`` inside the directory (see the module docstring for the safety rules)."""
    path = location
    fd = _open_nofollow(location, f"dataset asset {name}:")
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            path = location / arcade_api.DATA_FILE
            inner = _open_nofollow(path, f"dataset asset {name}:", dir_fd=fd)
            os.close(fd)
            fd = inner
            st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"dataset asset {name}: {path} is not a regular file")
        if st.st_size > MAX_DATASET_BYTES:
            raise InvalidInput(
                f"dataset asset {name}: {path} is larger than {MAX_DATASET_BYTES >> 20} MiB"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_DATASET_BYTES + 1)
    finally:
        os.close(fd)
    return path, data


def parse_records(path: Path, data: bytes) -> list[dict[str, Any]]:
    """One JSON object per non-blank line; a bad line is an error that names it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"dataset {path} is not UTF-8") from None
    out: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInput(f"dataset {path} line {number} is not JSON") from None
        if not isinstance(rec, dict):
            raise InvalidInput(f"dataset {path} line {number} is not a JSON object")
        out.append(rec)
        if len(out) > MAX_EXAMPLES:
            raise InvalidInput(f"dataset {path} has over {MAX_EXAMPLES} examples")
    return out


def open_dataset(ctx: Context, ref: str) -> DatasetFile:
    """The tenant's dataset asset ``ref`` (id, prefix or name), read and parsed."""
    asset = data_api.get_asset(ctx, ref)
    if asset.scheme != "file":
        raise InvalidInput(f"dataset asset {asset.name} is not a local file ({asset.location})")
    if not asset.active:
        raise Conflict(f"dataset asset {asset.name} is {asset.status}")
    path, data = read_jsonl_bytes(Path(asset.location), asset.name)
    return DatasetFile(asset, path, hashlib.sha256(data).hexdigest(), parse_records(path, data))


def _plain_labels(
    records: Sequence[dict[str, Any]], text_field: str, label_field: str
) -> list[str]:
    """The label set offered to plain ``text`` + ``label`` rows: every label the file holds."""
    return sorted(
        {
            str(r[label_field])
            for r in records
            if not isinstance(r.get("options"), list)
            and isinstance(r.get(text_field), str)
            and r.get(label_field) is not None
        }
    )


def choices(
    records: Sequence[dict[str, Any]],
    template: str,
    *,
    text_field: str = "text",
    label_field: str = "label",
    labels: Sequence[str] | None = None,
) -> list[Choice | None]:
    """Each row as a classification example, or None where it is not one. Rows without their
    own ``options`` are offered ``labels``, else every label of the file."""
    offered = list(labels) if labels else _plain_labels(records, text_field, label_field)
    out: list[Choice | None] = []
    for rec in records:
        own = arcade_api.classification_example(
            rec, template, text_field=text_field, label_field=label_field
        )
        if own is not None:
            prompt, options, label = own
            text = rec.get(text_field)
            out.append(Choice(text if isinstance(text, str) else prompt, prompt, options, label))
            continue
        plain, gold = rec.get(text_field), rec.get(label_field)
        if isinstance(plain, str) and gold is not None and len(offered) >= 2:
            prompt = arcade_api.render_prompt(template, text=plain, options=offered)
            out.append(Choice(plain, prompt, offered, str(gold)))
        else:
            out.append(None)
    return out


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def training_examples(ds: DatasetFile, template: str) -> list[Example]:
    """What a fine-tune learns from each row (see the module docstring)."""
    out: list[Example] = []
    for number, (rec, choice) in enumerate(
        zip(ds.records, choices(ds.records, template), strict=True), 1
    ):
        if choice is not None:
            out.append((choice.prompt, arcade_api.completion(choice.label)))
            continue
        if isinstance(rec.get("text"), str):
            out.append(rec["text"])
            continue
        pair = next(
            (
                (rec[a], rec[b])
                for a, b in (
                    ("prompt", "completion"),
                    ("prompt", "response"),
                    ("input", "output"),
                    ("input", "label"),
                )
                if a in rec and b in rec
            ),
            None,
        )
        if pair is not None:
            left, right = _as_text(pair[0]), _as_text(pair[1])
            out.append((left, right) if "prompt" in rec else (left, "\n" + right))
            continue
        msgs = rec.get("messages")
        if isinstance(msgs, list) and msgs:
            out.append(
                "\n".join(
                    f"{m.get('role', '')}: {m.get('content', '')}"
                    for m in msgs
                    if isinstance(m, dict)
                )
            )
            continue
        raise InvalidInput(
            f"dataset {ds.path} row {number} has none of: text, options+label, "
            "prompt+completion, input+output, input+label, messages"
        )
    if not out:
        raise InvalidInput(f"dataset {ds.asset.name} holds no training examples")
    return out
