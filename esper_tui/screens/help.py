"""The help: every key, every decision column, how each policy kind chooses, the seed stages
and the ten features the agent sees."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from esper_tui.screens.base import EsperModal
from training.records import ACTION_NAMES
from training.seeds.lifecycle import SeedStage
from training.seeds.telemetry import SEED_FEATURES
from widgets.glyphs import ACTION_SHORT
from widgets.model import LOG_KINDS, OUTLIER_Z

KEYS = (
    ("?", "this help"),
    (
        "q  ctrl+c",
        "quit from any screen or dialog: stop and join the trainer, flush the record, "
        "print the record path and the paired result",
    ),
    (
        "space",
        "live: Pause or Resume training (at the next batch boundary); replay: pause or resume "
        "the replay. Offered only while the run goes on",
    ),
    (
        "e",
        "the event log: every event in order, following new ones; / filters it by lane and kind, "
        "enter on a seed's event opens its detail, End follows again, escape or e closes",
    ),
    ("tab", "next panel (in a small terminal, also which lower panel shows)"),
    (
        "← → ↑ ↓  h j k l",
        "select a seed card (lanes are rows, slots are columns); arrows act on the "
        "focused panel when it scrolls or is the decision table",
    ),
    (
        "enter",
        "seed detail: telemetry history, stage timeline, gate checks (live); on a decision "
        "row, the seed that decision acted on",
    ),
    (
        "p",
        "Pause seed / Resume seed: the selected seed gets no optimizer steps, alpha and stage "
        "clock frozen. Offered for a live seed while training runs",
    ),
    ("c", "cull the selected seed (asks first). Never offered for a fossilized seed"),
    (
        "m",
        "maximise the focused panel with the layout of a big terminal (framed seed cards with "
        "the pipeline; every decision column); m again restores it",
    ),
    ("/", "filter the decision table: one lane, refused only, disagreements only"),
    ("end", "decision table: follow new rows again (moving the cursor pauses following)"),
    (
        "g",
        "charts: validation accuracy and loss per lane over the epochs, this episode over the "
        "finished ones; the selected seed's alpha and gradient norm",
    ),
    (
        "y",
        "vitals: the trainer's CPU, RSS and threads, the host's CPU and memory, each GPU's "
        "utilisation, memory, temperature, power and torch memory; newest, chart and table",
    ),
    (
        "r",
        "runs: every record in this record's folder (esper-tui --runs); escape comes back",
    ),
    (
        "s",
        "save an SVG screenshot of what is on screen, dialogs included, next to the record file "
        "(the one written, replayed or followed)",
    ),
    ("+  -", "replay: faster / slower"),
    ("]  [", "replay: next / previous episode"),
    ("escape", "close a dialog; in a run opened from the runs screen, back to the list"),
)
COLUMNS = (
    ("ep·e", "episode and epoch of the decision (taken after that epoch's training)"),
    (
        "lane",
        "the lane that decided (its two-letter code, as the header lists, when a name does not "
        "fit); ⁝ marks advice in shadow mode (never executed)",
    ),
    (
        "action",
        "the chosen action and its target slot: "
        + ", ".join(
            f"{short} {name}" for short, name in zip(ACTION_SHORT, ACTION_NAMES, strict=True)
        ),
    ),
    ("Q", "the chosen action's Q-value (— for the heuristic and BC: they have none)"),
    ("best Q", "the valid action with the highest Q, when it is not the chosen one"),
    ("V", "the state value V(s) from the checkpoint's value network"),
    ("adv", "advantage of the chosen action, Q − V"),
    ("heur", "the heuristic's choice on the same state; ✓ agrees, ✗ disagrees"),
    ("outcome", "done, REFUSED (the environment refused it) or advice"),
    ("reason → result", "the policy's reason, then what the action did or why it was refused"),
    ("", "The table keeps the columns that fit (its title names the others); m shows them all."),
    (
        "the pane",
        "beside or under the table, the row under the cursor (the newest while following) in "
        "full: lane, action and slot, outcome; the reason and its result; the heuristic's "
        "choice on the same state and its reason; every action's Q as a bar from the lowest "
        "to the highest valid Q (masked, invalid actions dotted, their Q in parentheses; p: the "
        "policy's probability), V, the advantage; the inputs farthest from the model's "
        "training distribution (z-score, or range-widths for a plan-format model)",
    ),
)
EVENTS = (
    ("the strip", "the last events, under the decisions; the newest in full where it fits"),
    ("kinds", "; ".join(f"{kind}: {what}" for kind, what in LOG_KINDS)),
)
CODES = (
    (
        "lane codes",
        "HE, DI, …: two letters per lane, by one rule (initials, or the first letter and a "
        "number where two lanes would share them); the header pairs each with its name",
    ),
    ("stage codes", "DOR GER TRN BLD SHD PRB FOS, CUL EMB RST: the stages below, in a narrow card"),
    ("blueprints", "conv = conv_enhance, attn = attention, dw = depthwise, norm"),
    (
        "header",
        "the phase inside the epoch (loading, training with batch k of n, validating, deciding) "
        "is live only; replay and follow show epochs and the time per epoch. samples/s is over "
        "the last 5 epochs",
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
    (
        "BC",
        "behaviour cloning (the ablation's baseline): acts on its own policy network's masked "
        "probabilities; it has no Q, V or advantage, so the pane shows its probabilities",
    ),
)
HEADER = (
    (
        "vitals line",
        "trainer CPU (% of one core) and RSS · host CPU and memory · each GPU's utilisation "
        "and memory; yellow from 75 % memory or 80 % utilisation, red from 90 % and 95 %; "
        "N/A where a sensor is missing (a CPU run has no GPU)",
    ),
    ("● LIVE", "follow: records keep coming and the writer holds the record's lock"),
    ("◐ SLOW", "follow: no new record for 2× the run's median epoch time"),
    ("○ STALE", "follow: no new record for 10× the run's median epoch time"),
    (
        "✗ WRITER GONE",
        "follow: the record has no ending event and no process holds its writer lock "
        "(the writer was killed or died)",
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


SERVED = (
    "This view is served to a browser and read-only: the training keys (space, p, c) are off "
    "and s saves nothing; q ends this view only, never the run."
)


class HelpScreen(EsperModal[None]):
    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def __init__(self, served: bool = False) -> None:
        super().__init__()
        self.served = served  # esper-tui --serve: say what a visitor cannot do

    def compose_dialog(self) -> ComposeResult:
        stages = Table.grid(padding=(0, 2))
        for stage, text in STAGES:
            stages.add_row(Text(f"{stage.value:>2} {stage.name}", style="bold"), text)
        features = Table.grid(padding=(0, 2))
        for spec in SEED_FEATURES:
            features.add_row(Text(spec.name, style="bold"), spec.description, spec.bound_text())
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static("[b]Esper — keys[/b]   [dim]escape closes · q quits · ↑↓ scroll[/dim]")
            if self.served:
                yield Static(Text(SERVED, style="bold"))
            yield Static(_grid(KEYS))
            yield Static("\n[b]The header: vitals and liveness[/b]")
            yield Static(_grid(HEADER))
            yield Static("\n[b]Decision table columns[/b]")
            yield Static(_grid(COLUMNS))
            yield Static("\n[b]Events[/b]")
            yield Static(_grid(EVENTS))
            yield Static("\n[b]Short names[/b]")
            yield Static(_grid(CODES))
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
