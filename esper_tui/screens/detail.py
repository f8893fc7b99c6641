"""One seed's full picture, redrawn whenever the store changes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from training.lifecycle import stage_name
from training.records import SeedRecord
from training.telemetry import SEED_FEATURES
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
            with Horizontal(id="detail-top"):
                yield Static(id="detail-timeline")
                yield Static(id="detail-features")
            table: DataTable[str] = DataTable(id="detail-history", cursor_type="row", zebra_stripes=True)
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
        title = Text()
        title.append(f"{self.lane} · slot {self.slot}", style="bold")
        if latest is not None and latest.seed_id is not None:
            title.append(f" · {latest.seed_id} · {latest.blueprint_id} · {latest.layer_id} · {latest.stage_name}")
            if latest.paused:
                title.append(" · ")
                title.append(" PAUSED ", style="reverse")
        else:
            title.append(" · DORMANT (empty)")
        title.append("   escape closes · q quits", style="dim")
        self.query_one("#detail-title", Static).update(title)
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
