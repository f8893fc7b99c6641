"""Text from outside made safe to show: one sanitiser for every string that reaches a terminal.

A terminal obeys what it is sent. ``ESC ] 0 ; … BEL`` retitles the window, ``ESC [ 2 J`` wipes
the screen, ``ESC [ ? 1049 l`` leaves the alternate screen, and the C1 characters do the same
without an ESC (U+009B is a one-character CSI). A lone surrogate cannot be encoded at all, so
printing it raises ``UnicodeEncodeError``. Names, reasons and messages in a record, a model
file's name, a checkpoint's metadata and every path are foreign text, so each passes through
``printable`` where it enters: every character that is not printable text (control characters,
C1, surrogates, format characters such as bidi overrides, line separators, unassigned code points)
becomes its visible escape (``\\x1b``, ``\\x9b``, ``\\ud800``, ``\\u202e``): the user sees that it
was there, and the terminal has nothing to act on. Spaces (other than U+0020) and private-use
characters (icon fonts) are kept: they only draw.

Plain Python (``unicodedata``), so the widgets, the decoder, the store and the command lines all
call the same function.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import unicodedata
from functools import cache
from typing import Any, TypeVar

import msgspec

KEPT_CATEGORIES = frozenset({"Zs", "Co"})  # spaces and private use: drawn, never obeyed
MULTILINE_FIELDS = frozenset({"traceback"})  # record fields whose newlines are meant
R = TypeVar("R")


def _visible(ch: str) -> str:
    return ch.encode("unicode_escape").decode("ascii")


def printable(text: str, multiline: bool = False) -> str:
    """``text`` with every character a terminal could act on replaced by its visible escape;
    ``multiline`` keeps newlines and tabs (tracebacks). The same string when nothing needs it."""
    if text.isprintable() or (multiline and text.replace("\n", "").replace("\t", "").isprintable()):
        return text
    keep = "\n\t" if multiline else ""
    shown = "".join(
        ch
        if ch.isprintable() or ch in keep or unicodedata.category(ch) in KEPT_CATEGORIES
        else _visible(ch)
        for ch in text
    )
    return text if shown == text else shown


def printable_path(path: object) -> str:
    """A path (or anything) as it may be shown."""
    return printable(str(path))


def printable_tree(value: Any, multiline: bool = False) -> Any:
    """JSON-like data (dicts, lists, tuples, strings, numbers) with every string, keys included,
    made printable; the same object when nothing changed."""
    if isinstance(value, str):
        return printable(value, multiline)
    if isinstance(value, dict):
        items = [(printable_tree(k), printable_tree(v)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        cleaned = [printable_tree(v, multiline) for v in value]
        if all(a is b for a, b in zip(cleaned, value, strict=True)):
            return value
        return type(value)(cleaned) if isinstance(value, tuple) else cleaned
    return value


@cache
def _text_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` (a msgspec Struct or a dataclass) that can hold text (a string,
    strings in a tuple or a dict, or another record): only those are visited, so numbers cost
    nothing."""
    hints = typing.get_type_hints(cls)
    if issubclass(cls, msgspec.Struct):
        names: tuple[str, ...] = cls.__struct_fields__
    else:
        names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return tuple(name for name in names if _may_hold_text(hints.get(name, Any)))


def _may_hold_text(hint: Any) -> bool:
    if hint is str or hint is Any or hint is dict:
        return True
    if isinstance(hint, type) and (
        dataclasses.is_dataclass(hint) or issubclass(hint, msgspec.Struct)
    ):
        return True
    origin = typing.get_origin(hint)
    if origin is dict:
        return True
    if origin in (tuple, list, typing.Union, types.UnionType):
        return any(_may_hold_text(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)
    return False


def printable_record(record: R) -> R:
    """A record (a msgspec Struct or a dataclass: a run, an epoch with its seeds and decision,
    an event) whose every string is printable; the same object when nothing needed it."""
    changes = None
    cls: type = type(record)
    for name in _text_fields(cls):
        value = getattr(record, name)
        cleaned = _clean(value, name in MULTILINE_FIELDS)
        if cleaned is not value:
            if changes is None:
                changes = {}
            changes[name] = cleaned
    if changes is None:
        return record
    if isinstance(record, msgspec.Struct):
        return msgspec.structs.replace(record, **changes)
    return dataclasses.replace(record, **changes)  # type: ignore[type-var]


def _clean(value: Any, multiline: bool) -> Any:
    if value is None:
        return None
    if type(value) is str:
        return printable(value, multiline)
    if type(value) is tuple:
        cleaned = None
        for i, item in enumerate(value):
            new = _clean(item, multiline)
            if new is not item:
                if cleaned is None:
                    cleaned = list(value)
                cleaned[i] = new
        return value if cleaned is None else tuple(cleaned)
    if isinstance(value, msgspec.Struct) or hasattr(type(value), "__dataclass_fields__"):
        return printable_record(value)
    if isinstance(value, str | dict | list):
        return printable_tree(value, multiline)
    return value
