"""Quality gates: every lifecycle transition is checked, and the result is kept and shown.

A gate is a list of named checks; it passes when all pass. The checks read only plain seed
state, so a refused transition can always say exactly why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from training.seeds.lifecycle import SeedStage, is_valid_transition, stage_name
from training.seeds.telemetry import SeedTelemetry


class StageBooks(Protocol):
    """The accuracy bookkeeping a gate reads (``SeedMetrics`` has it)."""

    @property
    def epochs_in_current_stage(self) -> int: ...

    @property
    def contribution(self) -> float: ...


class GatedSeed(Protocol):
    """The seed fields a gate reads (``SeedState`` has them); nothing else of a seed."""

    @property
    def stage(self) -> SeedStage: ...

    @property
    def alpha(self) -> float: ...

    @property
    def metrics(self) -> StageBooks: ...

    @property
    def gradient_epochs(self) -> int: ...

    @property
    def telemetry(self) -> SeedTelemetry: ...


@dataclass(frozen=True, slots=True)
class GateResult:
    """The outcome of one gate: which checks passed and which failed."""

    gate: str
    from_stage: int
    to_stage: int
    passed: bool
    checks_passed: tuple[str, ...] = ()
    checks_failed: tuple[str, ...] = ()
    epoch: int = 0

    def reason(self) -> str:
        if self.passed:
            return f"{self.gate} passed"
        return f"{self.gate} failed: " + "; ".join(self.checks_failed)

    def to_dict(self) -> dict:
        return {
            "gate": self.gate,
            "from_stage": self.from_stage,
            "to_stage": self.to_stage,
            "passed": self.passed,
            "checks_passed": list(self.checks_passed),
            "checks_failed": list(self.checks_failed),
            "epoch": self.epoch,
        }

    @classmethod
    def from_dict(cls, data: dict) -> GateResult:
        return cls(
            gate=data["gate"],
            from_stage=int(data["from_stage"]),
            to_stage=int(data["to_stage"]),
            passed=bool(data["passed"]),
            checks_passed=tuple(data.get("checks_passed", ())),
            checks_failed=tuple(data.get("checks_failed", ())),
            epoch=int(data.get("epoch", 0)),
        )


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """How long the mechanical stages last, in epochs."""

    blend_epochs: int = 3
    shadow_epochs: int = 2
    embargo_epochs: int = 2
    min_training_epochs: int = 1

    def __post_init__(self) -> None:
        for name in ("blend_epochs", "shadow_epochs", "embargo_epochs", "min_training_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


@dataclass
class _Checks:
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def check(self, ok: bool, passed_text: str, failed_text: str) -> None:
        (self.passed if ok else self.failed).append(passed_text if ok else failed_text)


_GATE_NAMES = {
    SeedStage.GERMINATED: "G0 germinate",
    SeedStage.TRAINING: "G1 start training",
    SeedStage.BLENDING: "G2 blend",
    SeedStage.SHADOWING: "G3 shadow",
    SeedStage.PROBATIONARY: "G4 probation",
    SeedStage.FOSSILIZED: "G5 fossilize",
    SeedStage.CULLED: "cull",
    SeedStage.EMBARGOED: "embargo",
    SeedStage.RESETTING: "reset",
    SeedStage.DORMANT: "dormant",
}


def evaluate_gate(
    state: GatedSeed, to_stage: SeedStage, config: LifecycleConfig, epoch: int
) -> GateResult:
    """Check whether ``state`` may move to ``to_stage`` now."""
    from_stage = state.stage
    checks = _Checks()
    valid = is_valid_transition(from_stage, to_stage)
    checks.check(
        valid,
        f"{stage_name(from_stage)}→{stage_name(to_stage)} is a valid transition",
        f"{stage_name(from_stage)}→{stage_name(to_stage)} is not a valid transition",
    )
    m = state.metrics
    if valid and to_stage is SeedStage.BLENDING:
        checks.check(
            m.epochs_in_current_stage >= config.min_training_epochs,
            f"trained {m.epochs_in_current_stage} epoch(s) in isolation",
            f"trained {m.epochs_in_current_stage} of {config.min_training_epochs} epoch(s) in isolation",
        )
        checks.check(
            state.gradient_epochs > 0,
            "gradients were measured",
            "gradients were never measured",
        )
        checks.check(
            not state.telemetry.has_exploding,
            "gradients finite and below the exploding threshold",
            "gradients exploded last epoch",
        )
    elif valid and to_stage is SeedStage.SHADOWING:
        checks.check(state.alpha >= 1.0, "alpha reached 1", f"alpha is {state.alpha:.2f}, not 1")
    elif valid and to_stage is SeedStage.PROBATIONARY:
        checks.check(
            m.epochs_in_current_stage >= config.shadow_epochs,
            f"shadowed {m.epochs_in_current_stage} epoch(s)",
            f"shadowed {m.epochs_in_current_stage} of {config.shadow_epochs} epoch(s)",
        )
    elif valid and to_stage is SeedStage.FOSSILIZED:
        checks.check(
            m.contribution > 0.0,
            f"improved accuracy by {m.contribution:+.2f} points since blending began",
            f"improvement since blending began is {m.contribution:+.2f} points, not > 0",
        )
        checks.check(
            state.gradient_epochs > 0,
            "gradients were measured",
            "gradients were never measured",
        )
        checks.check(
            not state.telemetry.has_exploding,
            "no exploding gradients last epoch",
            "gradients exploded last epoch",
        )
    elif valid and to_stage is SeedStage.RESETTING:
        checks.check(
            m.epochs_in_current_stage >= config.embargo_epochs,
            f"embargo of {config.embargo_epochs} epoch(s) served",
            f"embargoed {m.epochs_in_current_stage} of {config.embargo_epochs} epoch(s)",
        )
    return GateResult(
        gate=_GATE_NAMES.get(to_stage, "transition"),
        from_stage=int(from_stage),
        to_stage=int(to_stage),
        passed=not checks.failed,
        checks_passed=tuple(checks.passed),
        checks_failed=tuple(checks.failed),
        epoch=epoch,
    )
