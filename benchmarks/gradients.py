"""Gradient telemetry cost, measured side by side in one run.

Per batch, for 1, 10 and 50 live seeds:
  vectorised  the trainer's per-batch path: EpochGradientTelemetry.accumulate with the gradients
              bound to one bucketed buffer (CPU: one vector_norm per bucket; on CUDA binding is a
              no-op and this is the fused _foreach_norm)
  foreach     the same without binding: one _foreach_norm call over the separate gradients
  loop        the plan's original: a Python loop over parameters with .norm().item()
  floor       one vector_norm over a single flat tensor of the same number of values
and the collection overhead as a share of one training step of the default host with three
live seeds. Prints ratios; absolute times on these machines drift and mean little.

    python benchmarks/gradients.py [--device cpu|cuda] [--channels N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import interleaved  # noqa: E402

from training.env.actions import Action  # noqa: E402
from training.env.data import DataConfig, load_task  # noqa: E402
from training.env.environment import EnvConfig, MorphogeneticEnv  # noqa: E402
from training.seeds.blueprints import BLUEPRINTS, build_blueprint  # noqa: E402
from training.seeds.gradients import EpochGradientTelemetry  # noqa: E402


def loop_with_item(params: list[torch.nn.Parameter]) -> float:
    """The plan's Task 3 collector body: one norm and one .item() per tensor."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            n = p.grad.norm().item()
            total += n * n
    return total**0.5


def make_seeds(
    count: int, channels: int, device: torch.device
) -> dict[int, list[torch.nn.Parameter]]:
    names = sorted(BLUEPRINTS)
    groups = {}
    torch.manual_seed(0)
    for i in range(count):
        module = build_blueprint(names[i % len(names)], channels).to(device)
        for p in module.parameters():
            p.grad = torch.randn_like(p)
        groups[i] = list(module.parameters())
    return groups


def seed_rows(device: torch.device, channels: int, sync) -> list[str]:
    lines = []
    for count in (1, 10, 50):
        groups = make_seeds(count, channels, device)
        params = [p for ps in groups.values() for p in ps]
        flat = torch.cat([p.grad.flatten() for p in params])
        foreach = EpochGradientTelemetry(groups, device, expected_batches=1 << 14)
        telemetry = EpochGradientTelemetry(groups, device, expected_batches=1 << 14)
        telemetry.bind()  # the gradients become views of one buffer, as in the trainer
        times = interleaved(
            {
                "vectorised": telemetry.accumulate,
                "foreach": foreach.accumulate,
                "loop": lambda params=params: loop_with_item(params),
                "floor": lambda flat=flat: torch.linalg.vector_norm(flat),
            },
            sync=sync,
        )
        lines.append(
            f"{count:>5} seeds  {len(params):>4} tensors {flat.numel():>9,} values   "
            f"loop/vectorised {times['loop'] / times['vectorised']:5.2f}x   "
            f"foreach/vectorised {times['foreach'] / times['vectorised']:5.2f}x   "
            f"vectorised/floor {times['vectorised'] / times['floor']:5.2f}x"
        )
    return lines


def step_share(device: torch.device, sync) -> str:
    """Collection cost against one full training step of the default host, 3 live seeds."""
    task = load_task(DataConfig(preset="synthetic", seed=0)).to(device)
    env = MorphogeneticEnv(EnvConfig(device=str(device)), task)
    env.train_epoch()
    for action in (Action.GERMINATE_CONV, Action.GERMINATE_ATTENTION, Action.GERMINATE_NORM):
        env.apply(action)
        env.train_epoch()
    model = env.model
    groups: dict = {
        s.index: list(s.seed.parameters()) for s in model.seed_slots() if s.seed is not None
    }
    for name, layer in model.host.named_layers():
        groups[name] = list(layer.parameters())
    telemetry = EpochGradientTelemetry(groups, device, expected_batches=1 << 14)
    telemetry.bind()
    x, y = next(iter(task.train_batches(1)))

    def step() -> None:
        env._zero_grad(telemetry)
        F.cross_entropy(model(x), y).backward()
        env.host_optimizer.step()
        for opt in env.seed_optimizers.values():
            opt.step()

    step()
    times = interleaved(
        {"step": step, "collect": telemetry.accumulate}, repeats=9, inner=10, sync=sync
    )
    live = sum(1 for s in model.seed_slots() if s.seed is not None)
    return (
        f"default host, {live} live seeds + 7 host layers, batch {x.shape[0]}: "
        f"collection = {100 * times['collect'] / times['step']:.2f} % of a training step (goal <= 1 %)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--channels",
        type=int,
        nargs="*",
        default=[8, 64],
        help="seed channel counts to measure (default: 8, the default host's middle slot, and 64)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(
        f"gradient telemetry on {device} (torch {torch.__version__}, {torch.get_num_threads()} threads)"
    )
    for channels in args.channels:
        print(f"-- seeds of {channels} channels (blueprints in rotation)")
        for line in seed_rows(device, channels, sync):
            print(line)
    print("-- " + step_share(device, sync))


if __name__ == "__main__":
    main()
