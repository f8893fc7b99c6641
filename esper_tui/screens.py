"""Screens and modals: help, seed detail, crash, finished summary, cull confirmation."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from training.lifecycle import SeedStage, stage_name
from training.records import RunEvent, SeedRecord, StoreView
from training.telemetry import SEED_FEATURES

KEYS = (
    ("space", "pause / resume training (at the next batch boundary)"),
    ("← → ↑ ↓  h j k l", "select a seed card (lanes are rows, slots are columns)"),
    ("p", "pause / resume the selected seed: no optimizer steps, alpha and stage clock frozen"),
    ("c", "cull the selected seed (asks first); the trainer may refuse, e.g. a fossilized seed"),
    ("enter", "seed detail: telemetry history, stage timeline, gate checks (live)"),
    ("tab", "next panel (in a small terminal, also which lower panel shows)"),
    ("s", "save an SVG screenshot next to the record file"),
    ("?", "this help"),
    ("q  ctrl+c", "quit: stop and join the trainer, flush the record, exit"),
    ("escape", "close a dialog"),
)
STAGES = (
    (SeedStage.DORMANT, "empty slot, ready to germinate"),
    (SeedStage.GERMINATED, "seed module built; starts training at the next epoch"),
    (SeedStage.TRAINING, "learns in isolation: the host's outputs and gradients are untouched"),
    (SeedStage.BLENDING, "alpha ramps 0→1 over the blend epochs; trained jointly with the host"),
    (SeedStage.SHADOWING, "alpha is 1; held for the shadow epochs (advances by itself)"),
    (SeedStage.PROBATIONARY, "waits for ADVANCE: fossilize if it improved accuracy, else cull"),
    (SeedStage.FOSSILIZED, "part of the host for good; cannot be culled"),
    (SeedStage.CULLED, "removed; the slot is embargoed, reset, then dormant again"),
    (SeedStage.EMBARGOED, "slot closed for the embargo epochs"),
    (SeedStage.RESETTING, "slot being cleared; dormant next epoch"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        keys = Table.grid(padding=(0, 2))
        for key, text in KEYS:
            keys.add_row(Text(key, style="bold"), text)
        stages = Table.grid(padding=(0, 2))
        for stage, text in STAGES:
            stages.add_row(Text(f"{stage.value:>2} {stage.name}", style="bold"), text)
        features = Table.grid(padding=(0, 2))
        for spec in SEED_FEATURES:
            features.add_row(Text(spec.name, style="bold"), spec.description, spec.bound_text())
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static("[b]Esper — keys[/b]")
            yield Static(keys)
            yield Static("\n[b]Seed stages[/b]")
            yield Static(stages)
            yield Static("\n[b]The ten seed features the IQL agent sees[/b] (name, meaning, clip bound)")
            yield Static(features)
            yield Static("\n[dim]Not measured means no gradient reached the seed this epoch (paused, "
                         "culled, or not trained yet); it is never shown as healthy. escape closes.[/dim]")


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(self.question)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cull (y)", id="yes", variant="error")
                yield Button("Keep (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CrashScreen(ModalScreen[None]):
    """The trainer's traceback, in the app (and in the record). The app stays usable."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(id="crash", classes="dialog"):
            yield Static(f"[b]Training crashed[/b]: {Text(self.event.message).markup}", id="crash-title")
            with VerticalScroll(id="crash-trace"):
                yield Static(Text(self.event.traceback or "(no traceback)"))
            yield Static("[dim]The record file holds this traceback too. escape: keep looking at the "
                         "data · q: quit[/dim]")


class FinishedScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, view: StoreView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        view = self.view
        lines = [f"[b]Run finished[/b] — {view.run.mode if view.run else ''}, {view.episode} episode(s)"]
        for lane in view.lanes:
            finals = ", ".join(f"{a:.1f}" for a in lane.finals) or "—"
            lines.append(f"  {lane.name:<16} final accuracy per episode: {finals}")
        if view.paired:
            lines.append("")
            lines.extend(f"  {p.summary()}" for p in view.paired)
        elif view.finished is not None and view.finished.message:
            lines.append(f"\n  {view.finished.message}")
        lines.append("\n[dim]escape: back to the dashboard · q: quit[/dim]")
        with Vertical(id="finished", classes="dialog"):
            yield Static("\n".join(lines))


class SeedDetailScreen(ModalScreen[None]):
    """One seed's full picture, redrawn whenever the store changes."""

    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, lane: str, slot: int, view: StoreView) -> None:
        super().__init__()
        self.lane, self.slot, self.view = lane, slot, view
        self._rows: set[str] = set()
        self._seed_id: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail", classes="dialog"):
            yield Static(id="detail-title")
            with Horizontal(id="detail-top"):
                yield Static(id="detail-timeline")
                yield Static(id="detail-features")
            table = DataTable(id="detail-history", cursor_type="row", zebra_stripes=True)
            table.add_columns("epoch", "stage", "in stage", "alpha", "grad norm", "health", "flags",
                              "val acc", "Δ stage", "measured")  # fmt: skip
            yield table

    def on_mount(self) -> None:
        self.update_view(self.view)

    def _history(self, view: StoreView) -> tuple[SeedRecord, ...]:
        """The slot's records for the seed it holds now (a reused slot's earlier seed is not it)."""
        lane = view.lane(self.lane)
        history = () if lane is None else lane.seed_history.get(self.slot, ())
        current = history[-1].seed_id if history else None
        return tuple(r for r in history if r.seed_id == current)

    def update_view(self, view: StoreView) -> None:
        self.view = view
        history = self._history(view)
        latest = history[-1] if history else None
        title = f"[b]{self.lane} · slot {self.slot}[/b]"
        if latest is not None and latest.seed_id is not None:
            title += f" · {latest.seed_id} · {latest.blueprint_id} · {latest.layer_id} · {latest.stage_name}"
            if latest.paused:
                title += " · [reverse] PAUSED [/reverse]"
        else:
            title += " · DORMANT (empty)"
        self.query_one("#detail-title", Static).update(title + "   [dim]escape closes[/dim]")
        self.query_one("#detail-timeline", Static).update(self._timeline(latest))
        self.query_one("#detail-features", Static).update(self._features(latest))
        table = self.query_one("#detail-history", DataTable)
        if latest is not None and latest.seed_id != self._seed_id:  # the slot now holds another seed
            self._seed_id = latest.seed_id
            table.clear()
            self._rows.clear()
        for record in history:
            key = f"{record.epoch}:{record.seed_id}"
            if key in self._rows:
                continue
            self._rows.add(key)
            t = record.telemetry
            measured = record.gradients_measured
            table.add_row(
                str(record.epoch), record.stage_name, str(record.epochs_in_stage), f"{record.alpha:.2f}",
                f"{t.gradient_norm:.3g}" if measured else "—", f"{t.gradient_health:.2f}" if measured else "not measured",
                " ".join(f for f, on in (("VAN", record.has_vanishing), ("EXP", record.has_exploding)) if on) or "·",
                f"{t.accuracy:.1f}", f"{t.accuracy_delta:+.1f}", "yes" if measured else "no", key=key,
            )  # fmt: skip

    @staticmethod
    def _timeline(record: SeedRecord | None) -> Text:
        text = Text("Stage timeline\n", style="bold")
        if record is None or not record.timeline:
            text.append("no transitions yet", style="dim")
            return text
        for epoch, src, dst, reason in record.timeline:
            text.append(f"  epoch {epoch:>3}  {stage_name(src)} → {stage_name(dst)}  ", style="")
            text.append(f"{reason}\n", style="dim")
        gate = record.gate
        text.append("\nLast gate: ", style="bold")
        if gate is None:
            text.append("none yet", style="dim")
            return text
        text.append(f"{gate.gate} ", style="bold")
        text.append("passed\n" if gate.passed else "failed\n", style="green" if gate.passed else "red")
        for check in gate.checks_passed:
            text.append(f"  ✓ {check}\n", style="green")
        for check in gate.checks_failed:
            text.append(f"  ✗ {check}\n", style="red")
        return text

    @staticmethod
    def _features(record: SeedRecord | None) -> Table:
        table = Table(title="What the agent sees", show_edge=False, pad_edge=False, expand=False)
        for column in ("feature", "raw", "normalised", "bound"):
            table.add_column(column)
        if record is None:
            return table
        for spec in SEED_FEATURES:
            raw = getattr(record.telemetry, spec.raw_field)
            pegged = spec.clips and spec.pegged(float(raw))
            style = "bold yellow" if pegged else ""
            table.add_row(spec.name, f"{float(raw):.4g}", f"{record.features[spec.index]:.3f}",
                          spec.bound_text(), style=style)  # fmt: skip
        return table
