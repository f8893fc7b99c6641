"""The width budget's two rules: numbers formatted to the width of their column, and lane names
shortened by one rule that keeps them distinct.

A number never spills out of its column and never loses its magnitude: it keeps as many
significant digits as the column holds, then goes to scientific notation. A lane name that does
not fit its column is replaced, in that whole panel, by the lane's two-letter code (the header
shows every code beside the full name); a name is never cut inside a word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

CODE_LEN = 2


def fmt_fit(x: float | None, width: int, *, signed: bool = False) -> str:
    """``x`` in at most ``width`` cells with as many significant digits as fit: ``0.00859`` is
    ``0.0086`` in 6 cells, ``0.009`` in 5. ``—`` for None; nan and inf as such; a magnitude
    that cannot fit at all (``-1e100`` in 4 cells) is ``#`` repeated, as a spreadsheet does."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        text = ("+inf" if signed else "inf") if x > 0 else "-inf"
        return text if len(text) <= width else "#" * max(width, 1)
    sign = "+" if signed else ""
    if x == 0:
        return f"{0:{sign}.0f}"
    for digits in range(6, 0, -1):
        text = f"{x:{sign}.{digits}g}"
        if "e" in text:
            text = _short_exponent(text)
        if len(text) <= width and math.isfinite(float(text)):
            return text
    for digits in range(2, -1, -1):
        text = _short_exponent(f"{x:{sign}.{digits}e}")
        if len(text) <= width and math.isfinite(float(text)):
            return text
    # Rounding up the last mantissa digit can overflow a float (1.5e308 -> 2e308, which is inf):
    # cut the mantissa instead of rounding it.
    if abs(x) >= 1e300:
        exponent = math.floor(math.log10(abs(x)))
        text = f"{int(x / 10.0**exponent):{sign}d}e{exponent}"
        if len(text) <= width:
            return text
    return "#" * max(width, 1)


def _short_exponent(text: str) -> str:
    """``8.6e-03`` -> ``8.6e-3``, ``1e+09`` -> ``1e9``."""
    mantissa, _, exponent = text.partition("e")
    value = int(exponent)
    return f"{mantissa}e{value}"


def fmt_column(
    values: Sequence[float | None], cap: int, *, signed: bool = False, decimals: int | None = None
) -> tuple[list[str], int]:
    """Every value of a column formatted, and the column's width: the widest natural form (fixed
    ``decimals``, or 3 significant digits), capped at ``cap``, each value fitted to it."""
    if decimals is not None:
        natural = [_fixed(v, decimals, signed) for v in values]
    else:
        natural = [_sig(v, signed) for v in values]
    width = min(cap, max((len(s) for s in natural), default=1))
    return [
        s if len(s) <= width else fmt_fit(v, width, signed=signed)
        for s, v in zip(natural, values, strict=True)
    ], width


def _fixed(x: float | None, decimals: int, signed: bool) -> str:
    if x is None or not math.isfinite(x):
        return fmt_fit(x, 8, signed=signed)
    return f"{x:{'+' if signed else ''}.{decimals}f}"


def _sig(x: float | None, signed: bool) -> str:
    if x is None or not math.isfinite(x):
        return fmt_fit(x, 8, signed=signed)
    return (
        _short_exponent(f"{x:{'+' if signed else ''}.3g}")
        if "e" in f"{x:.3g}"
        else f"{x:{'+' if signed else ''}.3g}"
    )


def _natural_code(name: str) -> str:
    """Initials of the name's first two words (``default_iql`` DI, ``iql_37`` I3), or a
    one-word name's first two letters (``heuristic`` HE)."""
    words = [w for w in re.split(r"[^0-9A-Za-z]+", name) if w]
    if not words:
        return "??"
    if len(words) == 1:
        word = words[0]
        return (word[:CODE_LEN] if len(word) >= CODE_LEN else word.ljust(CODE_LEN, "_")).upper()
    return (words[0][0] + words[1][0]).upper()


def lane_codes(names: Sequence[str]) -> dict[str, str]:
    """A distinct two-letter code per lane, by one rule, in lane order: the natural code, and
    where two lanes would share it, the first letter and the lane's number (I1, I2, …)."""
    natural = {name: _natural_code(name) for name in names}
    counts: dict[str, int] = {}
    for code in natural.values():
        counts[code] = counts.get(code, 0) + 1
    codes: dict[str, str] = {}
    taken = {code for code in natural.values() if counts[code] == 1}
    for index, name in enumerate(names):
        code = natural[name]
        if counts[code] > 1:
            for n in range(index + 1, index + 40):
                suffix = str(n) if n < 10 else chr(ord("A") + n - 10)
                candidate = code[0] + suffix
                if candidate not in taken:
                    code = candidate
                    break
        taken.add(code)
        codes[name] = code
    return codes


def lane_labels(names: Sequence[str], width: int) -> dict[str, str]:
    """Full names when every one fits ``width`` cells; else every lane's code (one rule per
    panel, so a panel never mixes a cut name with a whole one)."""
    if all(len(name) <= width for name in names):
        return {name: name for name in names}
    return lane_codes(names)


def fit_path(path: str, width: int) -> str:
    """A path in at most ``width`` cells: whole when it fits, else its last folders and file name
    after ``…/`` (the name is what a reader looks for), else the name cut in its middle."""
    if len(path) <= width:
        return path
    parts = path.split("/")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(tail) + 2 > width:
            break
        tail = f"{part}/{tail}"
    if len(tail) + 2 <= width:
        return f"…/{tail}"
    keep = max(width - 1, 0)
    return f"{tail[: keep - keep // 2]}…{tail[len(tail) - keep // 2 :]}" if keep else "…"
