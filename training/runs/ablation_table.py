"""The ablation's report as a Markdown table: one row per policy, with its accuracy, its paired
difference from the heuristic, the sign test, the power figures, agreement and parameters added.
"""

from __future__ import annotations

from training.records import PairedResult
from training.runs.ablation import AblationConfig, AblationResult


def markdown(result: AblationResult, config: AblationConfig) -> str:
    """The report as a Markdown table, one row per policy."""
    env = config.compare.env
    n = len(result.comparison.result.episodes)
    lines = [
        f"Ablation on `{env.preset}`, {env.max_epochs} epochs, {n} paired episode(s) (seeds {env.seed}.."
        f"{env.seed + config.compare.episodes - 1}); behaviour data: {config.collect.episodes} episodes, "
        f"ε = {config.epsilon}, {result.transitions} transitions; IQL/BC {config.steps} steps, hidden {config.iql.hidden}.",
        *(
            [f"**Interrupted:** {n} of {config.compare.episodes} paired episodes finished."]
            if result.comparison.result.stopped
            else []
        ),
        "",
        "| policy | inputs | final acc (mean ± sd) | Δ vs heuristic [95% CI] | W/T/L | sign p "
        f"| paired sd | detects | episodes for ±{config.compare.effect:g} | agreement | params added |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result.rows:
        d = row.to_dict()
        acc = "—" if d["final_accuracy_mean"] is None else f"{d['final_accuracy_mean']:.2f}"
        if d["final_accuracy_sd"] is not None:
            acc += f" ± {d['final_accuracy_sd']:.2f}"
        p = row.paired
        if p is None:
            delta, wtl, sign = "(reference)" if row.kind == "heuristic" else "—", "—", "—"
            power = ("—", "—", "—")
        else:
            paired = PairedResult.from_dict(p)
            delta, wtl, sign = (
                paired.difference_text(),
                f"{p['wins']}/{p['ties']}/{p['losses']}",
                f"{p['sign_test_p']:.3f}",
            )
            power = _power_cells(paired)
        agree = "—" if row.agreement is None else f"{100 * row.agreement:.0f}%"
        params = "—" if d["params_added_mean"] is None else f"{d['params_added_mean']:,.0f}"
        inputs = "—" if row.inputs is None else str(row.inputs)
        label = {"heuristic": "heuristic", "bc": f"BC ({row.feature_set})"}.get(
            row.kind, f"IQL ({row.feature_set})"
        )
        lines.append(
            f"| {label} | {inputs} | {acc} | {delta} | {wtl} | {sign} | {' | '.join(power)} "
            f"| {agree} | {params} |"
        )
    return "\n".join(lines) + "\n"


def _power_cells(paired: PairedResult) -> tuple[str, str, str]:
    """The paired sd, the effect detectable at these episodes (two-sided 0.05, power 0.8) and
    the episodes the target effect needs; "—" where there is no spread or too few episodes."""
    sd = "—" if paired.sd is None else f"{paired.sd:.2f}"
    detects = "—" if paired.detectable_effect is None else f"±{paired.detectable_effect:.2f}"
    needed = "—" if paired.episodes_needed is None else str(paired.episodes_needed)
    return sd, detects, needed
