"""Strict forms for text typed on the command line: numbers, sizes, durations, arguments.

Why: Python's own parsers are generous in ways a store is not. ``int("1_000")`` and
``int(" 5 ")`` succeed, ``float("1e-400")`` is silently ``0.0``, a 27-digit size overflowed
SQLite's 64-bit integer (a traceback), and an argument holding undecodable bytes (surrogates,
``$'\\udcff'``) failed deep inside the database driver. Here each is refused with exit 2 and one
line, before a command runs.

Kept free of heavy imports: the root command installs the number checks.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from shifty_ent.core.errors import InvalidInput

INT_MAX = 2**63 - 1  # a signed 64-bit column, on SQLite and PostgreSQL alike
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def strict_int(value: object) -> int:
    """Plain decimal digits with an optional sign, within a 64-bit integer; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _INT.fullmatch(value):
        number = int(value)
    else:
        raise ValueError(value)
    if not -INT_MAX <= number <= INT_MAX:
        raise ValueError(f"{value} is out of range (at most {INT_MAX})")
    return number


def strict_float(value: object) -> float:
    """A finite decimal number that does not round to zero or infinity; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and _FLOAT.fullmatch(value):
        number = float(value)
        if number == 0 and re.search(r"[1-9]", value.split("e")[0].split("E")[0]):
            raise ValueError(f"{value} is too small (it rounds to zero)")
    else:
        raise ValueError(value)
    if not math.isfinite(number):
        raise ValueError(f"{value} is not a finite number")
    return number


def number(
    raw: str, what: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """``raw`` as a float for ``what`` (an option's name in messages), strict and in range."""
    try:
        value = strict_float(raw)
    except ValueError:
        raise InvalidInput(f"{what}: {raw!r} is not a finite decimal number") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        low = "" if minimum is None else f"from {minimum:g} "
        high = "" if maximum is None else f"to {maximum:g}"
        raise InvalidInput(f"{what}: {raw!r} is out of range ({low}{high})".replace(" )", ")"))
    return value


_SIZE = re.compile(r"^(\d{1,20}(?:\.\d{1,9})?)([kmgtp]?)(i?b?)$", re.I)
MAX_SIZE = 2**50  # 1 PiB: more than any disk an asset or workspace lives on, far below overflow


def size(text: str, what: str = "--size", *, minimum: int = 1) -> int:
    """``10G``/``10GiB`` (binary units), ``512M``, ``1000000`` -> bytes, from ``minimum`` to
    1 PiB."""
    m = _SIZE.fullmatch(text or "")
    if not m:
        raise InvalidInput(f"{what} {text!r}: use bytes or a number with K, M, G, T (e.g. 10G)")
    value, unit = float(m.group(1)), m.group(2).lower()
    out = int(value * 1024 ** " kmgtp".index(unit)) if unit else int(value)
    if not minimum <= out <= MAX_SIZE:
        low = "1 byte" if minimum == 1 else f"{minimum} bytes"
        raise InvalidInput(f"{what} {text!r} is out of range ({low} to 1 PiB)")
    return out


def check_argv(argv: Sequence[str]) -> None:
    """Refuse arguments that are not valid UTF-8 (surrogates) or hold NUL: nothing stores them."""
    for i, arg in enumerate(argv, start=1):
        if "\x00" in arg or any(0xD800 <= ord(ch) <= 0xDFFF for ch in arg):
            raise InvalidInput(f"argument {i} ({ascii(arg)[:40]}) is not valid UTF-8 text; refused")


def _base(annotation: object) -> object:
    """``int`` for ``int``, ``int | None`` and ``Annotated[int, ...]``; else the annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Annotated:
        return _base(args[0])
    if len(args) == 1 and typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args[0]
    return annotation


def install_strict_numbers(bad_parameter: Callable[..., Exception]) -> None:
    """Make typer parse ``int`` and ``float`` options and arguments with :func:`strict_int` and
    :func:`strict_float` before its own (lax) conversion. Typer >= 0.29 converts through
    ``typer._coercion``; older typer through click's number types."""
    try:
        from typer import _coercion
    except ImportError:  # pragma: no cover - older typer on click's number types
        from click import types as click_types

        click_types.IntParamType._number_class = staticmethod(strict_int)  # type: ignore[assignment]  # patching click's private hook
        click_types.FloatParamType._number_class = staticmethod(strict_float)  # type: ignore[assignment]  # patching click's private hook
        return
    cls = _coercion.AdapterRuntimeParam
    if getattr(cls, "_shifty_strict", False):
        return
    original = cls._coerce_value

    def _coerce_value(self: Any, value: Any, param: Any, ctx: Any) -> Any:
        check = {int: strict_int, float: strict_float}.get(_base(self.annotation))  # type: ignore[call-overload]  # any annotation; non-numbers miss
        if check is not None and isinstance(value, str):
            try:
                check(value)
            except ValueError:
                kind = "integer" if check is strict_int else "decimal number"
                raise bad_parameter(
                    f"{value!r} is not a plain {kind} in range", ctx=ctx, param=param
                ) from None
        return original(self, value, param, ctx)

    cls._coerce_value = _coerce_value  # type: ignore[method-assign]  # patching typer's private class
    cls._shifty_strict = True  # type: ignore[attr-defined]  # marks the patch as applied
