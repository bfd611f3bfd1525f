"""The tour's sandbox: a fresh directory with sample files; only one the tour made is removed."""

from __future__ import annotations

import shutil
from pathlib import Path

from shifty_ent.core import outfiles

MARKER = ".shifty-quickstart"
SAMPLES = {
    "crm/customers.csv": (
        "customer_id,name,email\n1042,Ada Lovelace,ada@example.org\n"
        "1043,Alan Turing,alan@example.org\n"
    ),
    "crm/litigation-emails.mbox": "From: legal@example.org\nSubject: case 42\n\nPreserve.\n",
    "notes/model-notes.txt": "Fine-tuning notes: lr 2e-5, 3 epochs, eval on held-out set.\n",
    "public/brochure.txt": "shifty-ent: enterprise AI operations from one command line.\n",
}
PATIENTS = "patient_id,diagnosis\nP-001,J45.909\nP-002,E11.9\n"


def prepare(sandbox: Path) -> None:
    """A fresh sandbox; only a directory this tour created before is ever removed."""
    from shifty_ent.core.errors import InvalidInput

    if sandbox.exists():
        if (sandbox / MARKER).is_file():
            from shifty_ent.core import store

            db = sandbox / "state.db"
            if db.exists():  # drop pooled connections to the file we are about to remove
                store.get_engine(f"sqlite:///{db}").dispose()
            shutil.rmtree(sandbox)
        elif any(sandbox.iterdir()):
            raise InvalidInput(
                f"{sandbox} exists and was not made by quickstart; choose another --dir"
            )
    outfiles.private_dir(sandbox)
    (sandbox / MARKER).write_text("made by shifty-ent quickstart; safe to delete\n")
    for rel, text in SAMPLES.items():
        path = sandbox / "files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (sandbox / "incoming").mkdir()
    (sandbox / "incoming" / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    (sandbox / "reports").mkdir()
