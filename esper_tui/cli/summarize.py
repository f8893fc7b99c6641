"""``esper-iql summarize RECORD|FOLDER... [--json FILE]``: the runs screen's comparison table
without a terminal. Each record is read whole by the product's record reader (the replay's line
bounds and checks), so the numbers are the ones the comparison view shows. A record named on the
command line must be one (else one sentence, exit 2); a folder gives the records the runs screen
lists in it (its ``*.jsonl`` files and those one level down), and those that are not records are
passed over with a line saying so."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from esper_tui.cli.headless import output
from esper_tui.workspace.scan import record_files
from training.records.text import printable_path
from training.util.safe_io import PathError

MAX_RECORDS = 64


def add_summarize_parser(sub) -> None:
    s = sub.add_parser(
        "summarize",
        help="a Markdown table of recorded runs, a row per run and lane (the runs screen's comparison)",
    )
    s.add_argument(
        "records",
        nargs="+",
        metavar="RECORD",
        help="record files (JSON lines), or folders: every record in them and one level down",
    )
    s.add_argument("--json", metavar="FILE", help="also write the table, with the curves, as JSON")
    s.add_argument("--force", action="store_true", help="replace an existing --json file")


def run_summarize(args, fail: Callable[[str], NoReturn]) -> int:
    from esper_tui.workspace.load import read_outcome
    from training.runs.outcome import markdown_table
    from training.util.safe_io import atomic_write

    named, found = _expand(args.records)
    if len(named) + len(found) > MAX_RECORDS:
        fail(f"{len(named) + len(found)} records given; summarize takes at most {MAX_RECORDS}")
    json_path = output(args.json, "JSON output", args.force) if args.json else None
    outcomes = [read_outcome(path) for path in named]
    for path in found:
        try:
            outcomes.append(read_outcome(path))
        except PathError as exc:
            print(f"esper-iql: {exc}; passed over", file=sys.stderr)
    if not outcomes:
        fail(f"no record in {', '.join(printable_path(p) for p in args.records)}")
    print(markdown_table(outcomes))
    for run in outcomes:
        notes = []
        if run.ending != "finished":
            notes.append(
                f"ended by {run.ending}"
                if run.ending
                else "no ending event (running, or its writer died)"
            )
        if run.corrupt_lines:
            notes.append(f"{run.corrupt_lines} unreadable line(s) skipped")
        if notes:
            print(f"\n{Path(run.path).name}: {'; '.join(notes)}")
    if json_path is not None:
        document = {"runs": [run.to_dict() for run in outcomes]}

        def write(tmp: Path) -> None:
            tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

        atomic_write(json_path, write, "JSON output", args.force)
    return 0


def _expand(arguments: list[str]) -> tuple[list[str], list[Path]]:
    """The records named, and those found in the folders named (sorted by path)."""
    named: list[str] = []
    found: list[Path] = []
    for argument in arguments:
        if Path(argument).is_dir():
            files, _ = record_files(Path(argument))
            found.extend(sorted(files))
        else:
            named.append(argument)
    return named, found
