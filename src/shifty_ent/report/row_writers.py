"""The two ways a renderer takes rows, written once for every output format.

A section's rows come either as values in column order (the fast path for long sections) or as
dicts by column key; each renderer writes only the first (``values_writer``) and inherits the
second from :class:`RowWriters`, so the dict path can never drift from the values path.
"""

from __future__ import annotations

from typing import IO, Any

from shifty_ent.report.document import Section


class RowWriters:
    """Renderers write rows given as values in column order (:meth:`values_writer`, the fast
    path for long sections) or as dicts by column key (:meth:`row_writer`)."""

    def values_writer(self, section: Section, fh: IO[str]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def row_writer(self, section: Section, fh: IO[str]) -> Any:
        keys = [c.key for c in section.columns]
        write = self.values_writer(section, fh)

        def by_key(row: dict[str, Any]) -> None:
            write([row.get(k) for k in keys])

        return by_key
