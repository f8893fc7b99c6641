"""``esper-iql summarize RECORD... [--json FILE]``: the runs screen's comparison table without a
terminal. Each record is read whole by the product's record reader (the replay's line bounds and
checks), so the numbers are the ones the comparison view shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from esper_tui.cli.headless import output

MAX_RECORDS = 64


def add_summarize_parser(sub) -> None:
    s = sub.add_parser(
        "summarize",
        help="a Markdown table of recorded runs, a row per run and lane (the runs screen's comparison)",
    )
    s.add_argument("records", nargs="+", metavar="RECORD", help="record files (JSON lines)")
    s.add_argument("--json", metavar="FILE", help="also write the table, with the curves, as JSON")
    s.add_argument("--force", action="store_true", help="replace an existing --json file")


def run_summarize(args, fail: Callable[[str], NoReturn]) -> int:
    from esper_tui.workspace.load import read_outcome
    from training.runs.outcome import markdown_table
    from training.util.safe_io import atomic_write

    if len(args.records) > MAX_RECORDS:
        fail(f"{len(args.records)} records given; summarize takes at most {MAX_RECORDS}")
    json_path = output(args.json, "JSON output", args.force) if args.json else None
    outcomes = [read_outcome(path) for path in args.records]
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
