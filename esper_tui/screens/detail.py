"""One seed's full picture, redrawn whenever the store changes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from training.records import SeedRecord
from training.seeds.lifecycle import stage_name
from training.seeds.telemetry import SEED_FEATURES
from widgets.model import StoreView


class SeedDetailScreen(ModalScreen[None]):
    """One seed's telemetry history, stage timeline, gate checks and features, live."""

    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, lane: str, slot: int, view: StoreView) -> None:
        super().__init__()
        self.lane, self.slot, self.view = lane, slot, view
        self._rows: set[str] = set()
        self._seed_id: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail", classes="dialog"):
            yield Static(id="detail-title", markup=False)
            yield Static(id="detail-model", markup=False)
            with Horizontal(id="detail-top"):
                yield Static(id="detail-timeline")
                yield Static(id="detail-features")
            table: DataTable[str] = DataTable(
                id="detail-history", cursor_type="row", zebra_stripes=True
            )
            table.add_columns(
                "epoch",
                "stage",
                "in stage",
                "alpha",
                "grad norm",
                "health",
                "flags",
                "val acc",
                "Δ stage",
                "measured",
            )
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
        title = Text()
        title.append(f"{self.lane} · slot {self.slot}", style="bold")
        if latest is not None and latest.seed_id is not None:
            title.append(
                f" · {latest.seed_id} · {latest.blueprint_id} · {latest.layer_id} · {latest.stage_name}"
            )
            if latest.paused:
                title.append(" · ")
                title.append(" PAUSED ", style="reverse")
        else:
            title.append(" · DORMANT (empty)")
        title.append("   escape closes · q quits", style="dim")
        self.query_one("#detail-title", Static).update(title)
        model = model_text(view, self.lane)
        self.query_one("#detail-model", Static).update(model)
        self.query_one("#detail-model", Static).display = bool(model.plain)
        self.query_one("#detail-timeline", Static).update(self._timeline(latest))
        self.query_one("#detail-features", Static).update(self._features(latest))
        table = self.query_one("#detail-history", DataTable)
        # the slot now holds another seed
        if latest is not None and latest.seed_id != self._seed_id:
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
                str(record.epoch),
                record.stage_name,
                str(record.epochs_in_stage),
                f"{record.alpha:.2f}",
                f"{t.gradient_norm:.3g}" if measured else "—",
                f"{t.gradient_health:.2f}" if measured else "not measured",
                " ".join(
                    f
                    for f, on in (("VAN", record.has_vanishing), ("EXP", record.has_exploding))
                    if on
                )
                or "·",
                f"{t.accuracy:.1f}",
                f"{t.accuracy_delta:+.1f}",
                "yes" if measured else "no",
                key=key,
            )

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
        text.append(
            "passed\n" if gate.passed else "failed\n", style="green" if gate.passed else "red"
        )
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
            table.add_row(
                spec.name,
                f"{float(raw):.4g}",
                f"{record.features[spec.index]:.3f}",
                spec.bound_text(),
                style=style,
            )
        return table


def model_text(view: StoreView, lane: str) -> Text:
    """For a lane driven by an esper-lite (plan-format) checkpoint: that it reads raw inputs, and
    the training metrics the checkpoint carried. Empty for our own format and the heuristic."""
    info = next((li for li in (view.run.lanes if view.run else ()) if li.name == lane), None)
    t = Text()
    if info is None or (info.model_format != "plan" and not info.metrics):
        return t
    if info.model_format == "plan":
        t.append("esper-lite (plan) checkpoint: ", style="bold")
        t.append("raw inputs, as esper-lite fed them; greedy masked Q\n")
    if info.metrics:
        t.append("its training metrics: ", style="bold")
        t.append(
            " · ".join(f"{key} {_metric(value)}" for key, value in list(info.metrics.items())[:12])
        )
    return t


def _metric(value: object, depth: int = 0) -> str:
    """A checkpoint metric in a few characters: numbers to 4 digits, lists and dicts shortened."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.4g}"
    if isinstance(value, list):
        items = ", ".join(_metric(v, depth + 1) for v in value[:8]) if depth < 2 else "…"
        return f"[{items}{', …' if len(value) > 8 else ''}]"
    if isinstance(value, dict):
        items = (
            ", ".join(f"{k} {_metric(v, depth + 1)}" for k, v in list(value.items())[:8])
            if depth < 2
            else "…"
        )
        return f"{{{items}{', …' if len(value) > 8 else ''}}}"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"
