"""What the terminal-escape tests share: the hostile strings (an escape-sequence attack, and
the other controls a terminal obeys), the fixture record they are put into, and ``unsafe``, what
a terminal would act on or could not encode."""

from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "run.jsonl"
ATTACK = "\x1b]0;pwned\x07\x1b[2J\x1b[?1049l"  # retitle the window, wipe the screen, leave the alternate screen
NASTY = [
    ATTACK,
    "\x1bP1;2|x\x1b\\",
    "\x9b31m",
    "\x9d0;t\x9c",
    "\ud800",
    "\udcff",
    "\u202e",
    "\r\x08\x00",
    "\n",
]
SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(NASTY)


def unsafe(text: str, multiline: bool = False) -> list[str]:
    """What a terminal would act on, or could not encode: C0 controls (newlines and tabs only
    where lines are meant), DEL, C1, lone surrogates, bidi controls and line separators."""
    bad = []
    for ch in text:
        code = ord(ch)
        if multiline and ch in "\n\t":
            continue
        if (
            code < 0x20
            or 0x7F <= code <= 0x9F
            or 0xD800 <= code <= 0xDFFF
            or code in (0x2028, 0x2029)
        ):
            bad.append(ch)
        elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
            bad.append(ch)
    return bad
