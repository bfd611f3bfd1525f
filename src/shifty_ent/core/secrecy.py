"""Secrets (API keys, tokens, database passwords): checked when loaded, scrubbed from every message.

Why: a key pasted with a trailing ``\\r`` was echoed whole by httpx (``Illegal header value
b'Bearer ...\\r'``), and each client scrubbed only the raw form of its own key. Here a secret with a
control or non-ASCII character is refused at settings load without being echoed, and the error
boundary passes every line it prints (messages and ``--debug`` tracebacks) through :func:`scrub`,
which knows every loaded secret in each form a message may carry it: raw, ``repr``-escaped, bytes
``repr``, URL-encoded and stripped of surrounding whitespace.

Kept free of heavy imports: the root command's error boundary uses it.
"""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from shifty_ent.core.errors import InvalidInput

MASK = "****"
# shorter values are not scrubbed: replacing every "ab" in a message would hide the message,
# and a secret that short protects nothing anyway
MIN_SCRUB = 6
_known: set[str] = set()


def bad_character(value: str) -> bool:
    """Whether ``value`` holds a control character (including DEL) or anything beyond ASCII."""
    return any(not 0x20 <= ord(ch) < 0x7F for ch in value)


def check_secret(label: str, value: object) -> str | None:
    """``value`` as a string, or exit 2 naming the setting (``label``), never the value."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{label} must be a string")
    remember(value)  # scrub it even from the refusal's surroundings
    if bad_character(value):
        raise InvalidInput(
            f"{label} holds a control or non-ASCII character (a stray newline or carriage "
            "return?); set it again without them"
        )
    return value


def remember(value: str | None) -> None:
    """Scrub ``value`` (and its variants) from everything printed from now on."""
    if not value:
        return
    for form in _forms(value):
        if len(form) >= MIN_SCRUB:
            _known.add(form)


def _forms(value: str) -> set[str]:
    forms = {value, value.strip(), repr(value)[1:-1]}
    raw = value.encode("utf-8", "surrogatepass")
    forms.add(quote(raw, safe=""))
    forms.add(quote_plus(raw, safe=""))
    forms.add(repr(raw)[2:-1])
    return forms


def scrub(text: str) -> str:
    """``text`` with every known secret form replaced by ``****`` (longest first)."""
    if not _known or not text:
        return text
    for form in sorted(_known, key=len, reverse=True):
        if form in text:
            text = text.replace(form, MASK)
    return text


def forget_all() -> None:
    """Tests load many settings in one process."""
    _known.clear()
