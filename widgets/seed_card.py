"""A seed card: one slot of one lane, as the seed grid shows it. Its text comes in three sizes
(four framed lines with the stage pipeline, two lines, or one), and whatever does not fit is
shortened by rule (stage codes, short blueprints, gate ids), never cut in a word; ``strict``
says ``DoesNotFit`` instead, so that the grid can fall back to lane codes.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from training.records import SeedRecord, SeedStage, is_failure_stage, stage_name
from widgets.glyphs import bar, changed, fit, needs_layout, sparkline

# Stage values are sparse ints (UNKNOWN 0 .. RESETTING 10); tables are keyed by stage.
PIPELINE: tuple[tuple[SeedStage, str], ...] = (
    (SeedStage.DORMANT, "DOR"), (SeedStage.GERMINATED, "GER"), (SeedStage.TRAINING, "TRN"),
    (SeedStage.BLENDING, "BLD"), (SeedStage.SHADOWING, "SHD"), (SeedStage.PROBATIONARY, "PRB"),
    (SeedStage.FOSSILIZED, "FOS"),
)  # fmt: skip
SHORT: dict[int, str] = dict(PIPELINE)
HISTORY_WIDTH = 12
PENDING = {  # operator command applied since the last epoch record -> badge, style
    "paused": ("PAUSED", "bold black on yellow"),
    "resumed": ("RESUMED", "bold black on green"),
    "culled": ("CULLED", "bold white on red"),
}
PAUSED_STYLE = PENDING["paused"][1]
STAGE_CODES: dict[int, str] = {
    **SHORT,
    SeedStage.UNKNOWN: "UNK",
    SeedStage.CULLED: "CUL",
    SeedStage.EMBARGOED: "EMB",
    SeedStage.RESETTING: "RST",
}
BLUEPRINT_SHORT = {"conv_enhance": "conv", "attention": "attn", "depthwise": "dw", "norm": "norm"}


def _badge(record: SeedRecord | None, pending: str | None) -> Text:
    """PAUSED from the record, or the operator's command applied since the last epoch record
    (shown at once, marked pending, so a key press is never met by silence)."""
    t = Text()
    if pending in PENDING:
        label, style = PENDING[pending]
        t.append(f" {label} ", style=style)
        t.append(" pending", style="italic")
    elif record is not None and record.paused:
        t.append(" PAUSED ", style=PAUSED_STYLE)
    return t


def _stage_text(record: SeedRecord, *, pipeline: bool = False, code: bool = False) -> Text:
    """The pipeline with the current stage marked, the stage's name, or its three-letter code;
    a failure stage is marked as such."""
    stage = record.stage
    name = STAGE_CODES.get(stage, "?") if code else stage_name(stage)
    if is_failure_stage(stage):
        return Text(f"✗ {name}", style="bold red")
    if stage not in SHORT:
        return Text(f"? {record.stage_name if not code else name}", style="bold yellow")
    if not pipeline:
        return Text(name, style="bold reverse")
    t = Text()
    for i, (value, label) in enumerate(PIPELINE):
        if i:
            t.append("›", style="dim")
        style = "bold reverse" if value == stage else ("green" if value < stage else "dim")
        t.append(label, style=style)
    return t


def _gate_text(record: SeedRecord, width: int) -> Text:
    """The last gate: its name (or only its id when narrow), ✓, or ✗ and the failed checks that
    fit whole ("+2 more" for the rest: the seed detail lists them)."""
    gate = record.gate
    if gate is None:
        return Text("gate —", style="dim")
    for name in (gate.gate, gate.gate.split(" ")[0]):
        t = Text(f"gate {name} ")
        if gate.passed:
            t.append("✓", style="bold green")
            if len(t.plain) <= width:
                return t
            continue
        t.append("✗", style="bold red")
        checks = list(gate.checks_failed) or ["failed"]
        shown: list[str] = []
        for i, check in enumerate(checks):
            rest = len(checks) - i - 1
            more = f" +{rest} more" if rest else ""
            if len(t.plain) + len(" " + "; ".join([*shown, check])) + len(more) <= width:
                shown.append(check)
        if shown:
            t.append(" " + "; ".join(shown), style="red")
        if len(shown) < len(checks):
            t.append(f" +{len(checks) - len(shown)} more", style="red")
        if len(t.plain) <= width:
            return t
    return fit(t, width)


def _alpha_text(
    record: SeedRecord, history: tuple[SeedRecord, ...], bar_width: int, hist_width: int
) -> Text:
    alphas = [s.alpha for s in history if s.seed_id == record.seed_id]
    t = Text("α ")
    t.append(bar(record.alpha, bar_width), style="cyan")
    t.append(f" {record.alpha:.2f}")
    if hist_width:
        t.append(" ")
        t.append(sparkline(alphas, 0.0, 1.0, width=hist_width), style="cyan dim")
    return t


class DoesNotFit(Exception):
    """No way of writing a card's line fits its width (the grid then uses lane codes)."""


def _first_fitting(candidates: list[Text], width: int, strict: bool = False) -> Text:
    """The richest candidate that fits ``width`` cells; when none does, the last one cut (or,
    ``strict``, ``DoesNotFit``)."""
    for text in candidates:
        if cell_len(text.plain) <= width:
            return text
    if strict:
        raise DoesNotFit
    return fit(candidates[-1], width)


def _head(lane: str, slot: int, selected: bool) -> Text:
    head = Text("▶" if selected else " ", style="bold")
    head.append(f"{lane}·s{slot} ", style="bold")
    return head


def _line_variants(
    head: Text, record: SeedRecord, badge: Text, *, alpha: bool, blueprint: bool
) -> list[Text]:
    """A compact card's first line, richest first: stage name or code, epochs, badge, alpha
    and gate mark, blueprint in full or short."""
    out = []
    bp_full = record.blueprint_id
    bp_short = BLUEPRINT_SHORT.get(bp_full, bp_full)
    for code in (False, True):
        for with_alpha in (True, False) if alpha else (False,):
            for bp in (bp_full, bp_short, "") if blueprint else ("",):
                t = head.copy()
                t.append_text(_stage_text(record, code=code))
                t.append(f" {record.epochs_in_stage}ep")
                if badge:
                    t.append(" ")
                    t.append_text(badge)
                if with_alpha:
                    t.append(f" α{record.alpha:.2f}", style="cyan")
                    gate = record.gate
                    if gate is not None:
                        t.append(
                            " ✓" if gate.passed else " ✗",
                            style="bold green" if gate.passed else "bold red",
                        )
                if bp:
                    t.append(f" {bp}", style="dim")
                out.append(t)
    return out


def card_text(
    lane: str,
    slot: int,
    history: tuple[SeedRecord, ...],
    pending: str | None,
    compact: bool | int,
    selected: bool = False,
    width: int = 60,
    strict: bool = False,
) -> Text:
    """A card's content in ``width`` cells: four lines, or two when ``compact`` (1 for a single
    line); a compact card has no border, so a ``▶`` marks the selected one. What does not fit
    is shortened by rule (stage codes, short blueprints, gate ids), never cut in a word."""
    lines = 4 if compact is False else (1 if compact is not True and compact == 1 else 2)
    record = history[-1] if history else None
    badge = _badge(record, pending)
    head = _head(lane, slot, selected) if lines < 4 else Text()
    if record is None or record.is_dormant or record.stage == SeedStage.DORMANT:
        variants = []
        for label in ("DORMANT · empty", "DORMANT", "DOR"):
            t = head.copy()
            t.append(label, style="dim")
            if badge:
                t.append(" ")
                t.append_text(badge)
            variants.append(t)
        return _first_fitting(variants, width, strict)
    if lines == 1:
        return _first_fitting(
            _line_variants(head, record, badge, alpha=True, blueprint=True), width, strict
        )
    if lines == 2:
        first = _first_fitting(
            _line_variants(head, record, badge, alpha=False, blueprint=True), width, strict
        )
        hist = 6 if width >= 40 else 0
        alpha = _alpha_text(record, history, 6, hist)
        second = Text(" ")
        second.append_text(alpha)
        second.append(" ")
        second.append_text(_gate_text(record, max(width - len(second.plain), 8)))
        return Text("\n").join([first, second])
    # The badge leads the second line (the pipeline fills the first); the stage is named too.
    pipeline = _stage_text(record, pipeline=True)
    if cell_len(pipeline.plain) > width:
        pipeline = _stage_text(record)
    info = badge + Text(" ") if badge else Text()
    info_variants = [
        info + Text(f"{bp} · {record.stage_name} · {record.epochs_in_stage} ep")
        for bp in (
            record.blueprint_id,
            BLUEPRINT_SHORT.get(record.blueprint_id, record.blueprint_id),
        )
    ]
    info_variants.append(
        info + Text(f"{STAGE_CODES.get(record.stage, '?')} · {record.epochs_in_stage} ep")
    )
    hist = max(0, min(HISTORY_WIDTH, width - 20))
    lines_out = [
        pipeline,
        _first_fitting(info_variants, width),
        _alpha_text(record, history, 10 if width >= 30 else 6, hist),
        _gate_text(record, width),
    ]
    return Text("\n").join(lines_out)


class SeedCard(Static):
    """One slot of one lane. ``lane_index``/``slot_index`` say where it sits in the grid."""

    DEFAULT_CSS = """
    SeedCard { height: auto; border: round $panel-lighten-2; padding: 0 1;
               text-wrap: nowrap; text-overflow: ellipsis; }
    SeedCard.-selected { border: heavy $accent; }
    SeedCard.-compact { border: none; padding: 0; height: auto; max-height: 2; }
    SeedCard.-compact.-selected { background: $accent 30%; }
    """

    def __init__(self, lane_index: int, slot_index: int) -> None:
        super().__init__("", markup=False, classes="seed-card")
        self.lane_index = lane_index
        self.slot_index = slot_index
        self._text: Text | None = None

    def show(
        self,
        lane: str,
        history: tuple[SeedRecord, ...],
        pending: str | None,
        compact: bool | int,
        selected: bool = False,
        width: int = 60,
        label: str | None = None,
        strict: bool = False,
    ) -> None:
        """Draw the card; ``strict`` raises ``DoesNotFit`` (before drawing) when a line would be cut."""
        text = card_text(
            label or lane, self.slot_index, history, pending, compact, selected, width, strict
        )
        record = history[-1] if history else None
        slot = record.slot_id if record is not None else f"slot{self.slot_index}"
        title = Text(f"{lane} · {slot}")
        if selected:
            title = Text("▶ ", style="bold") + title
        self.border_title = title
        self.set_class(selected, "-selected")
        self.set_class(bool(compact), "-compact")
        if changed(self._text, text):
            layout = needs_layout(self._text, text, self)
            self._text = text
            self.update(text, layout=layout)
