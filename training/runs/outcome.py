"""What a recorded run came to, lane by lane: the rows of ``esper-iql summarize`` and of the
runs screen's comparison, computed from a run's whole record (every line already read and
checked by the product's record reader).

A lane's final accuracy per episode is the one its ``episode_finished`` event states (the
validation accuracy after the last epoch), so the paired result here is the record's own,
recomputed by the same ``paired_result``; an episode still running, or cut short by a crash or
a stop, has no final accuracy and counts for nothing but the curve. The curve is the
episode-mean validation accuracy at each epoch, over every episode that reached that epoch.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from training.records import (
    EpochRecord,
    PairedResult,
    Record,
    RunEvent,
    RunInfo,
    SeedStage,
    is_failure_stage,
)
from training.runs.stats import paired_result

ENDINGS = ("finished", "stopped", "crashed")


@dataclass(frozen=True)
class LaneOutcome:
    """One lane of one run: one row of the comparison table."""

    name: str
    policy_kind: str  # heuristic, iql, ...
    model_file: str | None  # the model's file name, never its folder
    episodes: int  # episodes with a final accuracy
    final_mean: float | None  # accuracy points
    final_sd: float | None  # sample standard deviation; None under two episodes
    paired: PairedResult | None  # against the run's heuristic, head-to-head only
    agreement: float | None  # share of decisions equal to the heuristic's choice on that state
    decisions_compared: int
    fossilized: int  # distinct seeds that reached FOSSILIZED, all episodes together
    culled: int  # distinct seeds that ended culled or failed, all episodes together
    params_added: float | None  # seed parameters at the last epoch, mean over episodes
    curve: tuple[tuple[int, float], ...] = ()  # (epoch, episode-mean validation accuracy)

    def to_dict(self) -> dict:
        return {
            "lane": self.name,
            "policy": self.policy_kind,
            "model_file": self.model_file,
            "episodes": self.episodes,
            "final_accuracy_mean": self.final_mean,
            "final_accuracy_sd": self.final_sd,
            "paired": None if self.paired is None else self.paired.to_dict(),
            "agreement_with_heuristic": self.agreement,
            "decisions_compared": self.decisions_compared,
            "seeds_fossilized": self.fossilized,
            "seeds_culled": self.culled,
            "params_added_mean": self.params_added,
            "curve": [[epoch, acc] for epoch, acc in self.curve],
        }


@dataclass(frozen=True)
class RunOutcome:
    """One run: where it is, what it was, how it ended, and its lanes."""

    path: str
    run_id: str
    mode: str
    preset: str
    episodes_planned: int
    epochs: int
    ending: str  # finished / stopped / crashed, or "" when the record has no ending event
    corrupt_lines: int
    lanes: tuple[LaneOutcome, ...] = field(default_factory=tuple)

    @property
    def reference(self) -> str | None:
        return next((lane.name for lane in self.lanes if lane.policy_kind == "heuristic"), None)

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "run_id": self.run_id,
            "mode": self.mode,
            "preset": self.preset,
            "episodes_planned": self.episodes_planned,
            "epochs": self.epochs,
            "ending": self.ending or None,
            "corrupt_lines": self.corrupt_lines,
            "lanes": [lane.to_dict() for lane in self.lanes],
        }


class NoRunRecord(ValueError):
    """The file holds no run record: nothing to summarize."""


def run_outcome(path: str | Path, records: Iterable[Record], corrupt: int = 0) -> RunOutcome:
    """The outcome of the run whose records (in file order) are ``records``. A file that was
    rewritten with a new run (a new ``run`` record) counts from its last run."""
    info: RunInfo | None = None
    tally = _Tally()
    for record in records:
        if isinstance(record, RunInfo):
            info, tally = record, _Tally()
        elif isinstance(record, EpochRecord):
            tally.epoch(record)
        elif isinstance(record, RunEvent):
            tally.event(record)
    if info is None:
        raise NoRunRecord(f"{path} holds no run record")
    reference = next((li.name for li in info.lanes if li.policy_kind == "heuristic"), None)
    lanes = tuple(
        _lane_outcome(
            li.name,
            li.policy_kind,
            li.model_path,
            tally,
            reference if info.mode == "head-to-head" else None,
        )
        for li in info.lanes
    )
    return RunOutcome(
        str(path),
        info.run_id,
        info.mode,
        info.preset,
        info.episodes,
        info.epochs,
        tally.ending,
        corrupt,
        lanes,
    )


class _Tally:
    """What one pass over a run's records keeps per lane."""

    def __init__(self) -> None:
        self.finals: dict[str, dict[int, float]] = defaultdict(dict)  # lane -> episode -> acc
        self.points: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.last_params: dict[str, dict[int, int]] = defaultdict(dict)  # lane -> episode -> n
        self.fossilized: dict[str, set[tuple[int, str]]] = defaultdict(set)
        self.culled: dict[str, set[tuple[int, str]]] = defaultdict(set)
        self.agreed: dict[str, int] = defaultdict(int)
        self.compared: dict[str, int] = defaultdict(int)
        self.ending = ""

    def epoch(self, record: EpochRecord) -> None:
        lane = record.lane
        self.points[lane][record.epoch].append(record.val_accuracy)
        self.last_params[lane][record.episode] = record.seed_params
        for seed in record.seeds:
            if seed.seed_id is None:
                continue
            key = (record.episode, seed.seed_id)
            if seed.stage == SeedStage.FOSSILIZED:
                self.fossilized[lane].add(key)
            elif is_failure_stage(seed.stage):
                self.culled[lane].add(key)
        decision = record.decision
        if decision is None:
            return
        for advice in (decision, *decision.shadow):
            agrees = advice.agrees
            if agrees is not None:
                self.compared[advice.lane] += 1
                self.agreed[advice.lane] += agrees

    def event(self, event: RunEvent) -> None:
        if event.event in ENDINGS:
            self.ending = event.event
        elif event.event == "episode_finished" and event.episode is not None:
            finals = event.data.get("final_accuracy") or {}
            if isinstance(finals, dict):
                for lane, acc in finals.items():
                    if isinstance(acc, int | float) and not isinstance(acc, bool):
                        self.finals[str(lane)][event.episode] = float(acc)


def _lane_outcome(
    name: str, kind: str, model_path: str | None, tally: _Tally, reference: str | None
) -> LaneOutcome:
    finals = tally.finals.get(name, {})
    values = [finals[e] for e in sorted(finals)]
    paired = None
    if reference is not None and name != reference:
        ref = tally.finals.get(reference, {})
        both = sorted(set(finals) & set(ref))
        if both:
            paired = paired_result(
                name, reference, [finals[e] for e in both], [ref[e] for e in both]
            )
    compared = tally.compared.get(name, 0)
    params = tally.last_params.get(name, {})
    ended = [params[e] for e in sorted(finals) if e in params]
    curve = tuple(
        (epoch, statistics.fmean(accs))
        for epoch, accs in sorted(tally.points.get(name, {}).items())
    )
    return LaneOutcome(
        name=name,
        policy_kind=kind,
        model_file=Path(model_path).name if model_path else None,
        episodes=len(values),
        final_mean=statistics.fmean(values) if values else None,
        final_sd=statistics.stdev(values) if len(values) >= 2 else None,
        paired=paired,
        agreement=tally.agreed.get(name, 0) / compared if compared else None,
        decisions_compared=compared,
        fossilized=len(tally.fossilized.get(name, ())),
        culled=len(tally.culled.get(name, ())),
        params_added=statistics.fmean(ended) if ended else None,
        curve=curve,
    )


HEADINGS = (
    "run", "lane", "episodes", "final acc (mean ± sd)", "Δ vs heuristic [95% CI]", "W/T/L",
    "paired sd", "detects", "episodes needed", "agreement", "fossilized / culled",
    "params added", "model",
)  # fmt: skip


def markdown_table(outcomes: Sequence[RunOutcome]) -> str:
    """The comparison as one Markdown table, a row per run and lane."""
    rows = ["| " + " | ".join(HEADINGS) + " |", "|" + "---|" * len(HEADINGS)]
    for run in outcomes:
        for lane in run.lanes:
            rows.append("| " + " | ".join(_md(c) for c in row_cells(run, lane)) + " |")
    return "\n".join(rows)


def row_cells(run: RunOutcome, lane: LaneOutcome) -> list[str]:
    """The cells of a lane's row under ``HEADINGS``, as plain text (the screen and the Markdown
    share them)."""
    paired = lane.paired
    return [
        run_label(run),
        lane.name,
        f"{lane.episodes}/{run.episodes_planned}",
        accuracy_text(lane),
        delta_text(paired),
        "—" if paired is None else f"{paired.wins}/{paired.ties}/{paired.losses}",
        *power_cells(paired),
        "—" if lane.agreement is None else f"{lane.agreement:.0%} of {lane.decisions_compared}",
        f"{lane.fossilized} / {lane.culled}",
        "—" if lane.params_added is None else f"{lane.params_added:,.0f}",
        lane.model_file or "—",
    ]


def power_cells(paired: PairedResult | None) -> list[str]:
    """The paired sd, the smallest effect these episodes detect (two-sided 0.05, power 0.8) and
    the episodes that would detect the target effect: "—" where a result has none yet."""
    if paired is None or paired.sd is None:
        return ["—", "—", "—"]
    if paired.sd == 0.0:  # every difference equal: no spread to size a test on
        return ["0.00", "—", "no spread"]
    detects = "—" if paired.detectable_effect is None else f"±{paired.detectable_effect:.2f}"
    if paired.effect is None:
        needed = "—"
    elif paired.episodes_needed is None:
        needed = f"too many for ±{paired.effect:g}"
    else:
        needed = f"{paired.episodes_needed} for ±{paired.effect:g}"
    return [f"{paired.sd:.2f}", detects, needed]


def run_label(run: RunOutcome) -> str:
    return Path(run.path).name


def accuracy_text(lane: LaneOutcome) -> str:
    if lane.final_mean is None:
        return "—"
    sd = "" if lane.final_sd is None else f" ± {lane.final_sd:.2f}"
    return f"{lane.final_mean:.2f}{sd}"


def delta_text(paired: PairedResult | None) -> str:
    if paired is None:
        return "—"
    ci = paired.ci_text() or " [CI needs 2+ episodes]"
    return f"{paired.mean_difference:+.2f}{ci}"


def _md(cell: str) -> str:
    """A cell safe inside a Markdown table: pipes escaped, no line breaks."""
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
