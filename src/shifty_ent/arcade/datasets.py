"""Training datasets from settled missions: a JSONL file plus a dataset card, registered as a
``data`` asset so that retention, legal holds and secure deletion apply to it.

Where: ``<first tenant data root>/arcade-datasets/<name>/`` when the tenant has a data root on this
host (so the data group may erase it), else ``<data_dir>/datasets/<tenant_id>/<name>/``. The
directory holds ``data.jsonl`` and ``README.md`` (the card) and is the registered asset: one
asset that ``model train start --dataset`` and ``model eval`` address (rows: docs/datasets.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import col

from shifty_ent.arcade import dataset_format, permissions
from shifty_ent.arcade.mission_types import CLASSIFICATIONS, get_type
from shifty_ent.arcade.tables import Answer, Dataset, Mission
from shifty_ent.core import outfiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.canonical import to_jsonable
from shifty_ent.core.errors import Conflict, InvalidInput
from shifty_ent.core.tenancy import validate_name

if TYPE_CHECKING:
    from shifty_ent.core.context import Context


def dataset_dir(ctx: Context, name: str) -> Path:
    from shifty_ent.data import api as data_api

    roots = data_api.root_paths_here(ctx)
    if roots:
        return Path(roots[0]) / "arcade-datasets" / name
    return ctx.settings.data_dir / "datasets" / str(ctx.tenant_id) / name


def _most_restrictive(values: set[str]) -> str:
    return max(values, key=CLASSIFICATIONS.index) if values else "confidential"


def create_dataset(
    ctx: Context,
    name: str,
    *,
    mission_type: str,
    description: str | None = None,
    min_agreement: float = 0.0,
) -> Dataset:
    """Write settled missions with agreement >= ``min_agreement`` as a training set (operator)."""
    authorize(ctx, permissions.DATASET_CREATE)
    name = validate_name(name, "dataset name", max_len=128)
    mtype = get_type(mission_type)
    if not 0.0 <= min_agreement <= 1.0:
        raise InvalidInput("--min-agreement must be between 0 and 1")
    if description is not None and len(description) > 2000:
        raise InvalidInput("--description must be at most 2000 characters")
    if ctx.session.scalars(
        select(col(Dataset.id)).where(
            col(Dataset.tenant_id) == ctx.tenant_id, col(Dataset.name) == name
        )
    ).first():
        raise Conflict(f"a dataset named {name!r} already exists")
    where = (
        col(Mission.tenant_id) == ctx.tenant_id,
        col(Mission.type) == mtype.name,
        col(Mission.status) == "settled",
        col(Mission.agreement) >= min_agreement,
    )
    counted = dict(
        ctx.session.execute(
            select(col(Answer.mission_id), func.count())
            .join(
                Mission,
                (col(Mission.id) == col(Answer.mission_id))
                & (col(Mission.tenant_id) == col(Answer.tenant_id)),
            )
            .where(*where, col(Answer.flagged).is_(False))
            .group_by(col(Answer.mission_id))
        ).all()
    )
    missions = ctx.session.scalars(
        select(Mission).where(*where).order_by(col(Mission.settled_at), col(Mission.id))
    ).all()
    if not missions:
        raise InvalidInput(
            f"no settled {mtype.name} missions with agreement >= {min_agreement}; nothing written"
        )
    classification = _most_restrictive({m.classification for m in missions})
    folder = dataset_dir(ctx, name)
    if folder.exists():
        raise Conflict(f"{folder} already exists; choose another dataset name")
    labels: Counter[str] = Counter()
    digest = hashlib.sha256()
    try:
        outfiles.private_dir(folder.parent)
        os.mkdir(folder, 0o700)
        data_path = folder / dataset_format.DATA_FILE
        fd = os.open(data_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for m in missions:
                row = dataset_format.mission_row(
                    mtype, m, answer_count=int(counted.get(m.id, 0)), settled_at=m.settled_at
                )
                line = json.dumps(to_jsonable(row), ensure_ascii=False, sort_keys=True) + "\n"
                fh.write(line)
                digest.update(line.encode("utf-8"))
                labels[str(m.settled_result)] += 1
        data_sha = digest.hexdigest()
        card = _card(
            name,
            mtype.name,
            description,
            min_agreement,
            classification,
            missions,
            labels,
            data_sha,
            ctx,
        )
        card_path = folder / dataset_format.CARD_FILE
        fd = os.open(card_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(card)
        from shifty_ent.data.api import register_asset

        asset = register_asset(
            ctx,
            name=name,
            type="dataset",
            classification=classification,
            location=str(folder),
        )
        ds = Dataset(
            tenant_id=ctx.tenant_id,
            name=name,
            mission_type=mtype.name,
            description=description,
            min_agreement=min_agreement,
            rows=len(missions),
            classification=classification,
            path=str(data_path),
            card_path=str(card_path),
            sha256=data_sha,
            size_bytes=data_path.stat().st_size,
            asset_id=asset.id,
            created_at=ctx.now(),
            created_by=ctx.actor,
        )
        ctx.session.add(ds)
        ctx.session.flush()
        ctx.audit(
            "arcade.dataset.create",
            target_type="dataset",
            target_id=ds.id,
            details={
                "name": name,
                "mission_type": mtype.name,
                "rows": ds.rows,
                "min_agreement": min_agreement,
                "classification": classification,
                "asset_id": str(asset.id),
                "sha256": data_sha,
            },
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ds


def list_datasets(ctx: Context) -> list[Dataset]:
    authorize(ctx, permissions.READ)
    return list(
        ctx.session.scalars(
            select(Dataset)
            .where(col(Dataset.tenant_id) == ctx.tenant_id)
            .order_by(col(Dataset.created_at))
        ).all()
    )


def _card(
    name: str,
    mission_type: str,
    description: str | None,
    min_agreement: float,
    classification: str,
    missions: Any,
    labels: Counter[str],
    sha: str,
    ctx: Context,
) -> str:
    gold = sum(1 for m in missions if m.gold is not None)
    agreements = [m.agreement for m in missions if m.agreement is not None]
    mean_agreement = sum(agreements) / len(agreements) if agreements else 0.0
    label_lines = "\n".join(f"| {k} | {v} |" for k, v in sorted(labels.items()))
    return f"""---
pretty_name: {json.dumps(name)}
task_categories:
- text-classification
size_categories:
- n<{10 ** len(str(len(missions)))}
tags:
- shifty-ent
- hitl-arcade
- {mission_type}
---

# {name}

{description or f"Human-labelled {mission_type} missions from the shifty-ent HITL Arcade."}

| field | value |
|---|---|
| mission type | `{mission_type}` |
| rows | {len(missions)} |
| gold rows | {gold} |
| minimum agreement | {min_agreement} |
| mean agreement | {mean_agreement:.4f} |
| classification | {classification} |
| created | {ctx.now().isoformat()} by {ctx.actor} |
| data.jsonl sha256 | `{sha}` |

## Labels

| label | rows |
|---|---|
{label_lines}

## How it was made

Each row is a mission answered independently by several labellers (no labeller saw another's
answer). The label is the gold answer for gold missions, else the majority answer; ties were sent
to one more labeller. Answers given faster than the type's minimum dwell time were flagged and not
counted. `agreement` is the share of counted answers equal to the label.

## Fields

One JSON object per line (format `{dataset_format.FORMAT}`): `format`, `mission_id`,
`mission_type`, `task` (what the labellers were asked), `input` (the mission payload), `text`
(the payload as `key: value` lines), `options` (the answers offered), `label` (the settled
answer), `prompt` and `completion` (the example as a model reads it), `agreement`,
`answer_count` (counted answers), `gold`, `classification`, `subject_ref`, `settled_at`.

## Prompt

`prompt` is `text` and `options` rendered with the default template below and `completion` is
one space and the label. `model train start --dataset {name}` and `model eval run` render every
row with the same template (the one stored with the model version), so a model is evaluated on
the prompt it was trained on.

```
{dataset_format.DEFAULT_TEMPLATE}
```
"""
