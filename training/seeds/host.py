"""The host CNN and the morphogenetic model that grafts seed slots into it."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from training.seeds.gates import GateResult, LifecycleConfig
from training.seeds.lifecycle import SeedStage, is_failure_stage, is_terminal_stage, stage_name
from training.seeds.slot import Refusal, SeedSlot
from training.seeds.telemetry import LayerRegistry

MAX_SLOTS = 3
BASE_CHANNELS = 16


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """Batch norm that always uses the batch's own statistics, in validation too.

    Running averages lag far behind a narrow network trained with Adam: validation accuracy swung
    by ±10 points between epochs with them. Validation batches are large (1000 images), so their
    own statistics are stable, and there are no buffers to drift while a seed is paused.
    """
    return nn.BatchNorm2d(channels, track_running_stats=False)


class HostCNN(nn.Module):
    """Three conv blocks (conv → BN → ReLU → 2x2 max-pool) and a linear head.

    The injection points sit after each block. ``width`` scales every block's channels; the
    default host is deliberately narrow so that it plateaus and a seed has room to help.
    """

    def __init__(self, width: float = 1.0, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"host width must be positive, got {width}")
        chans = tuple(max(4, round(BASE_CHANNELS * width * m)) for m in (1, 2, 4))
        self.injection_channels: tuple[int, ...] = chans
        blocks = []
        c_in = in_channels
        for c_out in chans:
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                    batch_norm(c_out),
                    nn.ReLU(inplace=True),
                    nn.MaxPool2d(2),
                )
            )
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(chans[-1], num_classes)

    def forward(self, x: torch.Tensor, slots: nn.ModuleList | tuple = ()) -> torch.Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(slots):
                x = slots[i](x)
        return self.head(x.mean(dim=(2, 3)))

    def named_layers(self) -> list[tuple[str, nn.Module]]:
        """The seven host layers whose gradient norms the legacy 54-dim features report."""
        layers: list[tuple[str, nn.Module]] = []
        for i, block in enumerate(self.blocks, start=1):
            assert isinstance(block, nn.Sequential)  # built in __init__; ModuleList yields Module
            layers.append((f"conv{i}", block[0]))
            layers.append((f"bn{i}", block[1]))
        layers.append(("head", self.head))
        return layers


class MorphogeneticModel(nn.Module):
    """A host with up to three seed slots, one after each conv block."""

    def __init__(
        self, host: HostCNN, num_slots: int, lifecycle: LifecycleConfig | None = None
    ) -> None:
        super().__init__()
        if not 1 <= num_slots <= MAX_SLOTS:
            raise ValueError(f"slots must be between 1 and {MAX_SLOTS}, got {num_slots}")
        self.host = host
        self.lifecycle = lifecycle or LifecycleConfig()
        self.layers = LayerRegistry()
        slots = []
        for i in range(num_slots):
            layer_id = f"block{i + 1}"
            slots.append(
                SeedSlot(i, host.injection_channels[i], layer_id, self.layers.register(layer_id))
            )
        self.slots = nn.ModuleList(slots)
        self._germinations = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.host(x, self.slots)

    # ----------------------------------------------------------------------- queries
    def seed_slots(self) -> list[SeedSlot]:
        return list(self.slots)  # type: ignore[arg-type]

    def slot(self, index: int) -> SeedSlot:
        if not 0 <= index < len(self.slots):
            raise Refusal(f"there is no slot {index}; this run has {len(self.slots)} slot(s)")
        return self.slots[index]  # type: ignore[return-value]

    def focus_seed(self) -> SeedSlot | None:
        """The earliest-germinated live seed that is neither fossilized nor failed."""
        candidates = [
            s
            for s in self.seed_slots()
            if s.state is not None
            and s.seed is not None
            and not is_terminal_stage(s.stage)
            and not is_failure_stage(s.stage)
        ]
        return min(
            candidates,
            key=lambda s: s.state.germination_order if s.state is not None else 0,
            default=None,
        )

    def first_dormant(self) -> SeedSlot | None:
        return next((s for s in self.seed_slots() if s.is_dormant), None)

    def available_slots(self) -> int:
        return sum(1 for s in self.seed_slots() if s.is_dormant)

    def host_parameters(self) -> list[nn.Parameter]:
        """The host's own parameters plus those of fossilized seeds, which joined it."""
        params = list(self.host.parameters())
        for s in self.seed_slots():
            if s.seed is not None and s.stage is SeedStage.FOSSILIZED:
                params.extend(s.seed.parameters())
        return params

    def seed_parameters(self, index: int) -> list[nn.Parameter]:
        s = self.slot(index)
        return [] if s.seed is None else list(s.seed.parameters())

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        groups = {"host": self.host_parameters()}
        for s in self.seed_slots():
            if s.seed is not None and s.stage is not SeedStage.FOSSILIZED:
                groups[s.slot_id] = list(s.seed.parameters())
        return groups

    def host_param_count(self) -> int:
        return sum(p.numel() for p in self.host.parameters())

    def seed_param_count(self) -> int:
        return sum(
            s.state.params for s in self.seed_slots() if s.state is not None and s.seed is not None
        )

    def iter_live(self) -> Iterator[SeedSlot]:
        return (s for s in self.seed_slots() if s.seed is not None)

    # ----------------------------------------------------------------------- lifecycle
    def germinate(
        self, blueprint_id: str, epoch: int, init_seed: int, val_accuracy: float = 0.0
    ) -> tuple[SeedSlot, GateResult]:
        slot = self.first_dormant()
        if slot is None:
            raise Refusal("no DORMANT slot to germinate in")
        device = next(self.host.parameters()).device
        self._germinations += 1
        seed_id = f"{slot.slot_id}-s{self._germinations}"
        gate = slot.germinate(
            blueprint_id,
            seed_id,
            epoch,
            self._germinations,
            init_seed + 7919 * self._germinations,
            device,
            val_accuracy,
        )
        return slot, gate

    def advance(self, slot: SeedSlot, epoch: int) -> GateResult:
        """The policy's ADVANCE: TRAINING→BLENDING or PROBATIONARY→FOSSILIZED."""
        stage = slot.stage
        if slot.state is not None and slot.state.is_paused:  # slot.is_paused, narrowed
            raise Refusal(f"the seed in {slot.slot_id} is paused by operator")
        if stage is SeedStage.TRAINING:
            return slot.move(SeedStage.BLENDING, epoch, "advanced by policy", self.lifecycle)
        if stage is SeedStage.PROBATIONARY:
            return slot.move(SeedStage.FOSSILIZED, epoch, "advanced by policy", self.lifecycle)
        if stage in (SeedStage.BLENDING, SeedStage.SHADOWING):
            raise Refusal(f"{stage_name(stage)} advances by itself; ADVANCE is refused there")
        if stage is SeedStage.GERMINATED:
            raise Refusal("GERMINATED moves to TRAINING by itself at the next epoch")
        raise Refusal(f"nothing to advance from {stage_name(stage)}")

    def cull(self, slot: SeedSlot, epoch: int, by_operator: bool = False) -> GateResult:
        if slot.state is None:
            raise Refusal(f"{slot.slot_id} is empty (DORMANT)")
        if slot.stage is SeedStage.FOSSILIZED:
            raise Refusal(f"the seed in {slot.slot_id} is FOSSILIZED and cannot be culled")
        if slot.is_paused and not by_operator:
            raise Refusal(f"the seed in {slot.slot_id} is paused by operator")
        who = "operator" if by_operator else "policy"
        return slot.move(SeedStage.CULLED, epoch, f"culled by {who}", self.lifecycle)
