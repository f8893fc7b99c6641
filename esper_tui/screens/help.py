"""The help: every key, every decision column, how each policy kind chooses, the seed stages
and the ten features the agent sees."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from training.records import ACTION_NAMES
from training.seeds.lifecycle import SeedStage
from training.seeds.telemetry import SEED_FEATURES
from widgets.glyphs import ACTION_SHORT
from widgets.model import OUTLIER_Z

KEYS = (
    ("?", "this help"),
    (
        "q  ctrl+c",
        "quit from any screen or dialog: stop and join the trainer, flush the record, "
        "print the record path and the paired result",
    ),
    (
        "space",
        "live: pause / resume training (at the next batch boundary); replay: pause the replay",
    ),
    (
        "← → ↑ ↓  h j k l",
        "select a seed card (lanes are rows, slots are columns); arrows act on the "
        "focused panel when it scrolls",
    ),
    ("p", "pause / resume the selected seed: no optimizer steps, alpha and stage clock frozen"),
    ("c", "cull the selected seed (asks first); the trainer may refuse, e.g. a fossilized seed"),
    (
        "enter",
        "seed detail: telemetry history, stage timeline, gate checks (live); on a decision "
        "row, the seed that decision acted on",
    ),
    ("end", "decision table: follow new rows again (moving the cursor pauses following)"),
    ("/", "filter the decision table: one lane, refused only, disagreements only"),
    (
        "g",
        "charts: validation accuracy and loss per lane over the epochs, this episode over the "
        "finished ones; the selected seed's alpha and gradient norm",
    ),
    ("v", "decision details line: the full Q vector, or the reason and result in full"),
    ("tab", "next panel (in a small terminal, also which lower panel shows)"),
    ("m", "maximise the focused panel; m or escape restores it"),
    ("s", "save an SVG screenshot next to the record file"),
    ("+  -", "replay: faster / slower"),
    ("]  [", "replay: next / previous episode"),
    ("escape", "close a dialog"),
)
COLUMNS = (
    ("ep·e", "episode and epoch of the decision (taken after that epoch's training)"),
    ("lane", "the lane that decided; ⁝ marks advice in shadow mode (never executed)"),
    (
        "action",
        "the chosen action and its target slot: "
        + ", ".join(
            f"{short} {name}" for short, name in zip(ACTION_SHORT, ACTION_NAMES, strict=True)
        ),
    ),
    ("Q", "the chosen action's Q-value (— for the heuristic: it has none)"),
    ("best Q", "the valid action with the highest Q, when it is not the chosen one"),
    ("V", "the state value V(s) from the checkpoint's value network"),
    ("adv", "advantage of the chosen action, Q − V"),
    ("heur", "the heuristic's choice on the same state; ✓ agrees, ✗ disagrees"),
    ("outcome", "done, REFUSED (the environment refused it) or advice"),
    ("reason → result", "the policy's reason, then what the action did or why it was refused"),
    (
        "details line",
        "the row under the cursor: its full Q vector (masked, invalid actions in "
        "parentheses, the chosen one highlighted) or, after v, its reason and result",
    ),
)
POLICIES = (
    (
        "heuristic",
        "the plan's rules: germinate on a plateau, advance on improvement, cull on decline",
    ),
    (
        "plan's format",
        "a checkpoint with q/v networks only: greedy masked argmax over Q, so the "
        "chosen action is always the best valid Q",
    ),
    (
        "ours",
        "checkpoints from esper-iql train act on the masked policy network (advantage-"
        "weighted), so the chosen action need not be the highest Q; 'best Q' shows when not",
    ),
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


def _grid(rows: tuple[tuple[str, str], ...]) -> Table:
    table = Table.grid(padding=(0, 2))
    for key, text in rows:
        table.add_row(Text(key, style="bold"), Text(text))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        stages = Table.grid(padding=(0, 2))
        for stage, text in STAGES:
            stages.add_row(Text(f"{stage.value:>2} {stage.name}", style="bold"), text)
        features = Table.grid(padding=(0, 2))
        for spec in SEED_FEATURES:
            features.add_row(Text(spec.name, style="bold"), spec.description, spec.bound_text())
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static("[b]Esper — keys[/b]   [dim]escape closes · q quits · ↑↓ scroll[/dim]")
            yield Static(_grid(KEYS))
            yield Static("\n[b]Decision table columns[/b]")
            yield Static(_grid(COLUMNS))
            yield Static("\n[b]How each policy chooses[/b]")
            yield Static(_grid(POLICIES))
            yield Static("\n[b]Seed stages[/b]")
            yield Static(stages)
            yield Static(
                "\n[b]The ten seed features the IQL agent sees[/b] (name, meaning, clip bound); "
                "pegged = share of recent epochs at the clip bound"
            )
            yield Static(features)
            yield Static(
                f"\n[dim]Not measured means no gradient reached the seed this epoch (paused, "
                f"culled, or not trained yet); it is never shown as healthy. An IQL input "
                f"more than {OUTLIER_Z:g} standard deviations from its training mean is "
                f"listed as out of distribution; the heuristic reads raw signals.[/dim]"
            )
