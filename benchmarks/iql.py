"""IQL update throughput, measured side by side in one run.

  iql     training.policies.iql.IQL.update: twin Q, V and policy, one backward, Polyak step
  bc      the behaviour-cloning baseline's update on the same batch (one network)
  cql     d3rlpy's DiscreteCQL (two critics, the same 256-256 MLP) when the optional
          ``d3rlpy`` package is importable (``pip install '.[bench]'``); skipped otherwise

Batches are drawn before timing and cycled, so only the updates are timed. Prints ratios;
the one absolute rate is this machine in this run, not a claim.

    python benchmarks/iql.py [--device cpu|cuda] [--hidden 256] [--batch 256] [--dim 37] [--threads N]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import interleaved  # noqa: E402

from training.actions import ACTION_DIM  # noqa: E402
from training.policies.iql import IQL, Batch, BehaviourCloning, IQLConfig  # noqa: E402

ROWS = 8192
BATCHES = 16


def random_transitions(dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    terminals = (rng.random(ROWS) < 0.04).astype(np.float32)
    terminals[-1] = 1.0
    return {
        "states": rng.normal(size=(ROWS, dim)).astype(np.float32),
        "actions": rng.integers(0, ACTION_DIM, size=ROWS).astype(np.int64),
        "rewards": rng.normal(size=ROWS).astype(np.float32),
        "next_states": rng.normal(size=(ROWS, dim)).astype(np.float32),
        "dones": terminals,
    }


def our_batches(data: dict[str, np.ndarray], batch: int, device: torch.device) -> list[Batch]:
    gen = torch.Generator().manual_seed(1)
    tensors = {k: torch.as_tensor(v, device=device) for k, v in data.items()}
    masks = torch.ones(ROWS, ACTION_DIM, dtype=torch.bool, device=device)
    out = []
    for _ in range(BATCHES):
        i = torch.randint(ROWS, (batch,), generator=gen).to(device)
        out.append(Batch(tensors["states"][i], tensors["actions"][i], tensors["rewards"][i],
                         tensors["next_states"][i], tensors["dones"][i], masks[i]))  # fmt: skip
    return out


def cycling(update: Callable[[object], object], batches: list) -> Callable[[], object]:
    it = itertools.cycle(batches)
    return lambda: update(next(it))


def d3rlpy_cql(data: dict[str, np.ndarray], hidden: int, batch: int, lr: float, device: torch.device) -> Callable[[], object]:
    """d3rlpy's DiscreteCQL on the same transitions and MLP size (d3rlpy 2.x API)."""
    import d3rlpy

    dataset = d3rlpy.dataset.MDPDataset(
        observations=data["states"], actions=data["actions"], rewards=data["rewards"], terminals=data["dones"]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--hidden", type=int, default=IQLConfig().hidden)
    parser.add_argument("--batch", type=int, default=IQLConfig().batch_size)
    parser.add_argument("--dim", type=int, default=37)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inner", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda asked for, but torch sees no CUDA device")
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    config = IQLConfig(hidden=args.hidden, batch_size=args.batch)
    torch.manual_seed(0)
    iql = IQL(args.dim, ACTION_DIM, config, device)
    bc = BehaviourCloning(args.dim, ACTION_DIM, config, device)
    data = random_transitions(args.dim)
    batches = our_batches(data, args.batch, device)
    candidates = {"iql": cycling(iql.update, batches), "bc": cycling(bc.update, batches)}

    cql_note = "d3rlpy is absent (optional: pip install '.[bench]'); no DiscreteCQL comparison"
    if importlib.util.find_spec("d3rlpy") is not None:
        try:
            candidates["cql"] = d3rlpy_cql(data, args.hidden, args.batch, config.lr, device)
        except Exception as error:  # noqa: BLE001 - an incompatible d3rlpy should not hide our numbers
            cql_note = f"d3rlpy is installed but could not be driven ({type(error).__name__}: {error})"

    times = interleaved(candidates, repeats=args.repeats, inner=args.inner, sync=sync)
    where = f"{device.type}, {torch.get_num_threads()} threads" if device.type == "cpu" else torch.cuda.get_device_name()
    print(f"IQL updates ({where}): batch {args.batch}, {args.dim} inputs, hidden {args.hidden}; "
          f"median of {args.repeats} x {args.inner}, interleaved")  # fmt: skip
    print(f"  iql        {1.0 / times['iql']:8.0f} updates/s  (this machine, this run)")
    print(f"  iql / bc   {times['iql'] / times['bc']:8.2f}x the time of one BC update on the same batch")
    if "cql" in times:
        print(f"  iql / cql  {times['cql'] / times['iql']:8.2f}x the updates per second of d3rlpy DiscreteCQL "
              "(2 critics, same MLP)")  # fmt: skip
    else:
        print(f"  cql        {cql_note}")


if __name__ == "__main__":
    main()
