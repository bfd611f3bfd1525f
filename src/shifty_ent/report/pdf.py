"""``--format pdf``: the report's HTML printed to PDF by WeasyPrint (the optional ``pdf`` extra).

The PDF is made from exactly the HTML ``--format html`` writes, so both read the same; its bytes
are what the detached signature covers, like any other format's. WeasyPrint is asked for nothing
outside the document (every URL is refused), and its own warnings about CSS it skips stay off the
user's terminal. Its output is deterministic for the same HTML (no creation timestamp).
"""

from __future__ import annotations

import io
import logging
from typing import Any, NoReturn

from shifty_ent.core.errors import Refused

EXTRA = "pip install 'shifty-ent[pdf]'"


def require() -> None:
    """Refuse (exit 4, one line) before anything is written when WeasyPrint is missing."""
    try:
        import weasyprint  # noqa: F401
    except ImportError as exc:
        raise Refused(
            f"--format pdf needs the 'pdf' extra ({exc.name or 'weasyprint'} is missing): {EXTRA}"
        ) from None
    except OSError as exc:  # the Python package is there, its system libraries (Pango) are not
        raise Refused(
            f"--format pdf: WeasyPrint cannot load its system libraries ({exc})"
        ) from None


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise ValueError(f"a report loads nothing from outside the file (asked for {url[:80]})")


def print_html(page: str, sink: io.BufferedIOBase) -> None:
    """Write the PDF of the HTML document ``page`` into ``sink``."""
    from weasyprint import HTML

    quiet = [logging.getLogger(name) for name in ("weasyprint", "fontTools")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.ERROR)
    try:
        HTML(string=page, url_fetcher=_no_fetch).write_pdf(target=sink)
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
