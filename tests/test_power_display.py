"""Every paired result on screen and in the record carries its power and its decision: the
scoreboard line, the record's events (through the hostile-input checks), the progress line."""

from __future__ import annotations

import dataclasses
import json

import pytest

from esper_tui.cli.parallel import _short
from esper_tui.store import TelemetryStore
from tests.widgets_support import drawn, full_view
from training.records import RecordError, record_from_line
from training.runs.stats import paired_result
from widgets import Scoreboard

ACCURACIES = [61.25, 60.5, 62.0, 59.75, 61.0, 60.25, 62.5, 61.75]
UNDECIDED = paired_result("tiny_iql", "heuristic", ACCURACIES, [a - 0.2 for a in ACCURACIES[::-1]])
DECIDED = paired_result(
    "tiny_iql", "heuristic", ACCURACIES, [a - 3.0 + 0.1 * (i % 3) for i, a in enumerate(ACCURACIES)]
)


@pytest.mark.parametrize("width", [140, 80])
async def test_the_scoreboard_line_says_undecided_and_the_episodes_still_needed(width):
    assert not UNDECIDED.decided and UNDECIDED.episodes_needed > UNDECIDED.episodes
    view = dataclasses.replace(full_view(), paired=(UNDECIDED,), version=10**6)
    text = " ".join((await drawn(Scoreboard(), view, size=(width, 45))).render().plain.split())
    more = UNDECIDED.episodes_needed - UNDECIDED.episodes
    assert (
        f"sd {UNDECIDED.sd:.2f}" in text and f"detects ±{UNDECIDED.detectable_effect:.2f}" in text
    )
    assert "undecided: anytime 95% CS [" in text and f"~{more} more episodes for ±0.5" in text


async def test_the_scoreboard_line_says_decided_in_bold():
    assert DECIDED.decided
    view = dataclasses.replace(full_view(), paired=(DECIDED,), version=10**6)
    rendered = (await drawn(Scoreboard(), view)).render()
    assert "decided: anytime 95% CS [" in " ".join(rendered.plain.split())
    start = rendered.plain.index("tiny_iql vs heuristic")
    assert any("bold" in str(s.style) for s in rendered.spans if s.start <= start < s.end)


def test_the_record_carries_power_and_decision_through_the_store():
    store = TelemetryStore()
    for line in _episode_event(DECIDED):
        store.add(record_from_line(line))
    (paired,) = store.view().paired
    assert paired == DECIDED


def test_a_hostile_decision_field_makes_the_line_corrupt():
    line = json.loads(_episode_event(DECIDED)[0])
    line["data"]["paired"][0]["decided"] = "yes"
    with pytest.raises(RecordError):
        record_from_line(json.dumps(line))


def test_the_progress_line_says_decided_or_undecided():
    assert _short(DECIDED).endswith(" decided") and _short(UNDECIDED).endswith(" undecided")


def _episode_event(paired) -> list[str]:
    event = {
        "kind": "event", "v": 1, "run_id": "r", "event": "episode_finished", "episode": 8,
        "message": "episode 8/8 finished", "data": {"paired": [paired.to_dict()]},
    }  # fmt: skip
    return [json.dumps(event)]
