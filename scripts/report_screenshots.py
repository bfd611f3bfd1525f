"""Regenerate docs/screenshots/: one PNG per report type, as headless Chromium shows the HTML.

    PYTHONPATH=src python scripts/report_screenshots.py [DIR]

Builds the quickstart's sandbox tenant in a temporary home (a fixed clock, so reruns differ only
in ids), writes each report as HTML and screenshots its first screen 1000 px wide. With Pillow
(a dependency of the pdf extra) the PNGs are reduced to a 64-colour palette to stay small.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = (
    "deletion_audit",
    "access_audit",
    "retention_status",
    "data_inventory",
    "costs",
    "arcade",
)
COMPLIANCE = KINDS[:4]
NOW = "2026-11-27T12:00:00+00:00"


def _cli(home: Path, *args: str) -> None:
    env = {**os.environ, "SHIFTY_HOME": str(home), "SHIFTY_NOW": NOW}
    env.pop("SHIFTY_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "shifty_ent", *args], check=True, env=env)


def _shrink(png: Path) -> None:
    try:
        from PIL import Image
    except ImportError:
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=64)
        small.save(png, optimize=True)


def main(target: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("needs chromium (Debian: apt-get install chromium)")
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        _cli(home, "-o", "json", "quickstart", "--dir", str(home / "quickstart"))
        sandbox = home / "quickstart"
        for kind in KINDS:
            html = sandbox / f"{kind}.html"
            who = "audrey" if kind in COMPLIANCE else "olga"
            what = ["compliance", "--type", kind] if kind in COMPLIANCE else [kind]
            _cli(
                sandbox, "-t", "quickstart", "--as", who, "-o", "json", "report", *what,
                "--format", "html", "--out", str(html),
            )  # fmt: skip
            png = target / f"{kind}.png"
            subprocess.run(
                [
                    chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,1300", f"--screenshot={png}", html.as_uri(),
                ],
                check=True, capture_output=True, timeout=120, env={**os.environ, "HOME": tmp},
            )  # fmt: skip
            _shrink(png)
            print(f"{png} ({png.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
