"""Worker process for a long ``access_audit``: walks one part of the chain.

Started by :mod:`shifty_ent.report.access_audit` in a fresh interpreter that calls :func:`main`
(a forked child must not touch the parent's open database handles, and multiprocessing's spawn
would re-run the caller's main script). It reads its arguments as a
pickle on stdin, renders its rows into the spool file it was given and writes the part's
status and counts as a pickle on stdout. Only the report process starts it, with its own data.
"""

from __future__ import annotations

import pickle
import sys


def main() -> int:
    from shifty_ent.report.access_audit import _walk_part

    args = pickle.load(sys.stdin.buffer)
    part = _walk_part(**args)
    sys.stdout.buffer.write(pickle.dumps(part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
