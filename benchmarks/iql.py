"""IQL training throughput, measured side by side in one run.

Train steps (what ``esper-iql train`` runs: one IQL update and one BC update on the same batch):
  random      an OfflineTrainer on random transitions (normal states, random valid masks)
  collected   an OfflineTrainer on transitions the real ``esper-iql collect`` pipeline recorded
              (tiny preset, cached under build/bench/); constant features and dead units make
              exact-zero gradients there, whose Adam moments decay into subnormal floats
  collected, no flush   the same without ``flush_denormals`` (what training cost before it)
The trainers run in turns of --chunk steps until each has run --steps, so losses approach zero
as in a real run; a rate is the median over the chunks.

Single updates on fixed random batches, cycled:
  iql / bc    one IQL update against one BC update
  cql         d3rlpy's DiscreteCQL (two critics, the same MLP) when the optional ``d3rlpy``
              package is importable (``pip install '.[bench]'``); skipped otherwise

Prints ratios; the absolute rates are this machine in this run, not a claim.

    python benchmarks/iql.py [--device cpu|cuda] [--steps 2000] [--chunk 100] [--threads N]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from _timing import interleaved  # noqa: E402

from training.env.actions import ACTION_DIM  # noqa: E402
from training.policies.iql import IQL, Batch, BehaviourCloning, IQLConfig  # noqa: E402
from training.policies.offline_data import OfflineDataset  # noqa: E402
from training.policies.trainer import OfflineTrainer  # noqa: E402

ROWS = 8192
BATCHES = 16


def random_dataset(dim: int, seed: int = 0) -> OfflineDataset:
    rng = np.random.default_rng(seed)
    masks = rng.random((ROWS, ACTION_DIM)) < 0.5
    masks[:, 0] = True  # WAIT is always valid
    actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks], dtype=np.int64)
    dones = (rng.random(ROWS) < 0.04).astype(np.float32)
    dones[-1] = 1.0
    return OfflineDataset(
        states=rng.normal(size=(ROWS, dim)).astype(np.float32),
        actions=actions,
        rewards=rng.normal(size=ROWS).astype(np.float32),
        next_states=rng.normal(size=(ROWS, dim)).astype(np.float32),
        dones=dones,
        masks=masks,
        next_masks=np.ones((ROWS, ACTION_DIM), dtype=bool),
    )


def collected_dataset(episodes: int, epochs: int) -> OfflineDataset:
    """Transitions from the real collect pipeline (heuristic with ε-random actions, tiny preset,
    37 'seed' features), written once to build/bench/ and read from there afterwards."""
    path = ROOT / "build" / "bench" / f"iql_collected_tiny_{episodes}x{epochs}.npz"
    if not path.is_file():
        from training.env.config import EnvConfig
        from training.runs.collect import collect
        from training.runs.config import RunConfig

        print(
            f"collecting {episodes} episodes x {epochs} epochs (tiny preset) into {path} ...",
            flush=True,
        )
        config = RunConfig(
            env=EnvConfig(preset="tiny", max_epochs=epochs, seed=0), episodes=episodes
        )
        transitions, _ = collect(config, epsilon=0.2, feature_set="seed")
        path.parent.mkdir(parents=True, exist_ok=True)
        transitions.to_npz(path)
    return OfflineDataset.from_npz(path)


class _NoFlushTrainer(OfflineTrainer):
    """The trainer as it ran before subnormals were flushed (for the side-by-side only)."""

    flushes_denormals = False


def train_step_rates(
    trainers: dict[str, OfflineTrainer], steps: int, chunk: int, sync: Callable[[], None]
) -> dict[str, tuple[float, float]]:
    """Median train steps per second of each trainer, by the wall clock and by this process's
    CPU time (less disturbed by other processes on a shared machine), run in turns of ``chunk``
    steps, the order reversed every round so that drift in the machine's speed hits all alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in trainers}
    names = list(trainers)
    for round_ in range(max(steps // chunk, 1)):
        for name in names if round_ % 2 == 0 else reversed(names):
            sync()
            wall, cpu = time.perf_counter(), time.process_time()
            trainers[name].run(chunk)
            sync()
            samples[name].append(
                (chunk / (time.perf_counter() - wall), chunk / (time.process_time() - cpu))
            )
    return {
        name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for name, values in samples.items()
    }


def fixed_batches(data: OfflineDataset, batch: int, device: torch.device) -> list[Batch]:
    gen = torch.Generator().manual_seed(1)
    arrays = {
        k: torch.as_tensor(getattr(data, k), device=device)
        for k in ("states", "actions", "rewards", "next_states", "dones", "masks")
    }
    out = []
    for _ in range(BATCHES):
        i = torch.randint(ROWS, (batch,), generator=gen).to(device)
        out.append(
            Batch(
                arrays["states"][i],
                arrays["actions"][i],
                arrays["rewards"][i],
                arrays["next_states"][i],
                arrays["dones"][i],
                arrays["masks"][i],
            )
        )
    return out


def cycling(update: Callable[[object], object], batches: list) -> Callable[[], object]:
    it = itertools.cycle(batches)
    return lambda: update(next(it))


def d3rlpy_cql(
    data: OfflineDataset, hidden: int, batch: int, lr: float, device: torch.device
) -> Callable[[], object]:
    """d3rlpy's DiscreteCQL on the same transitions and MLP size (d3rlpy 2.x API)."""
    import d3rlpy

    dataset = d3rlpy.dataset.MDPDataset(
        observations=data.states, actions=data.actions, rewards=data.rewards, terminals=data.dones
    )
    algo = d3rlpy.algos.DiscreteCQLConfig(
        batch_size=batch,
        learning_rate=lr,
        n_critics=2,
        encoder_factory=d3rlpy.models.encoders.VectorEncoderFactory(hidden_units=[hidden, hidden]),
    ).create(device="cuda:0" if device.type == "cuda" else False)
    algo.build_with_dataset(dataset)
    batches = [dataset.sample_transition_batch(batch) for _ in range(BATCHES)]
    return cycling(algo.update, batches)


def single_updates(
    data: OfflineDataset,
    config: IQLConfig,
    device: torch.device,
    args: argparse.Namespace,
    sync: Callable[[], None],
) -> None:
    torch.manual_seed(0)
    iql = IQL(data.state_dim, ACTION_DIM, config, device)
    bc = BehaviourCloning(data.state_dim, ACTION_DIM, config, device)
    batches = fixed_batches(data, config.batch_size, device)
    candidates = {"iql": cycling(iql.step, batches), "bc": cycling(bc.step, batches)}
    cql_note = "d3rlpy is absent (optional: pip install '.[bench]'); no DiscreteCQL comparison"
    if importlib.util.find_spec("d3rlpy") is not None:
        try:
            candidates["cql"] = d3rlpy_cql(
                data, config.hidden, config.batch_size, config.lr, device
            )
        except Exception as error:  # noqa: BLE001 - an incompatible d3rlpy should not hide our numbers
            cql_note = (
                f"d3rlpy is installed but could not be driven ({type(error).__name__}: {error})"
            )
    times = interleaved(candidates, repeats=args.repeats, inner=args.inner, sync=sync)
    print(
        f"single updates on fixed random batches: median of {args.repeats} x {args.inner}, interleaved"
    )
    print(f"  iql          {1.0 / times['iql']:8.0f} updates/s")
    print(
        f"  iql / bc     {times['iql'] / times['bc']:8.2f}x the time of one BC update on the same batch"
    )
    if "cql" in times:
        print(
            f"  iql / cql    {times['cql'] / times['iql']:8.2f}x the updates per second of d3rlpy DiscreteCQL "
            "(2 critics, same MLP)"
        )
    else:
        print(f"  cql          {cql_note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--hidden", type=int, default=IQLConfig().hidden)
    parser.add_argument("--batch", type=int, default=IQLConfig().batch_size)
    parser.add_argument(
        "--steps", type=int, default=2000, help="train steps per trainer (default 2000)"
    )
    parser.add_argument("--chunk", type=int, default=100, help="train steps per turn (default 100)")
    parser.add_argument(
        "--episodes", type=int, default=4, help="episodes of the collected dataset (default 4)"
    )
    parser.add_argument(
        "--epochs", type=int, default=25, help="epochs per collected episode (default 25)"
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument(
        "--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)"
    )
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda asked for, but torch sees no CUDA device")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = IQLConfig(hidden=args.hidden, batch_size=args.batch)
    collected = collected_dataset(args.episodes, args.epochs)
    random = random_dataset(collected.state_dim)

    trainers = {
        "random": OfflineTrainer(random, config, seed=0, device=device),
        "collected": OfflineTrainer(collected, config, seed=0, device=device),
        "collected, no flush": _NoFlushTrainer(collected, config, seed=0, device=device),
    }
    rates = train_step_rates(trainers, args.steps, args.chunk, sync)
    where = (
        f"{device.type}, {torch.get_num_threads()} threads"
        if device.type == "cpu"
        else torch.cuda.get_device_name()
    )
    print(
        f"IQL training ({where}): batch {args.batch}, {collected.state_dim} inputs, hidden {args.hidden}; "
        f"collected data: {len(collected)} transitions"
    )
    print(
        f"train steps (IQL + BC update on one batch), {args.steps} per trainer in turns of {args.chunk}, "
        "medians by wall clock | by CPU time:"
    )
    for name, (wall, cpu) in rates.items():
        print(f"  {name:<20} {wall:8.1f} | {cpu:6.1f} steps/s")

    def ratio(a: str, b: str) -> str:
        return f"{rates[a][0] / rates[b][0]:8.2f} | {rates[a][1] / rates[b][1]:6.2f}"

    print(f"  collected / random   {ratio('collected', 'random')}  (goal >= 0.8)")
    print(
        f"  flush / no flush     {ratio('collected', 'collected, no flush')}  on the collected data"
    )
    single_updates(random, config, device, args, sync)


if __name__ == "__main__":
    main()
