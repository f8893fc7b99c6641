"""``esper-iql train``: IQL and its behaviour-cloning baseline trained on a collected .npz, with
warnings about data that can teach little, a progress bar, and the checkpoint written whole or
not at all.
"""

from __future__ import annotations

from collections import Counter

from esper_tui.cli.common import add_training_flags, say, warn
from esper_tui.cli.headless import TrainingStopped, loss_guard, output
from esper_tui.cli.iql_steps import PROG, action_histogram, checked_distinct, deliver, fail
from esper_tui.cli.progress import ProgressBars


def add_train_parser(sub) -> None:
    t = sub.add_parser("train", help="train IQL and a behaviour-cloning baseline on an .npz")
    t.add_argument("data", metavar="DATA.npz", help="transitions from esper-iql collect")
    t.add_argument(
        "-o", "--output", required=True, metavar="FILE.pt", help="where to write the checkpoint"
    )
    t.add_argument(
        "--features",
        choices=("seed", "none", "full"),
        default=None,
        help="which stored states to train on: none (27), seed (37) or full (54); "
        "default: the set the data was collected with",
    )
    add_training_flags(t, steps=20000, hidden=256, batch_size=True)
    t.add_argument(
        "--device",
        default="auto",
        metavar="auto|cpu|cuda[:N]",
        help="where to train (default auto)",
    )
    t.add_argument("--force", action="store_true", help="replace an existing checkpoint file")


BEHAVIOUR_SHARE = 0.95  # one action above this share of the data: the policy can learn little else


def data_warnings(actions, batch_size: int) -> list[str]:
    """What makes training on this data little use, in sentences: fewer transitions than one
    batch (every step resamples the same few) and a behaviour that is nearly one action."""
    from training.records import ACTION_NAMES

    n = len(actions)
    out = []
    if n < batch_size:
        out.append(
            f"only {n} transitions, fewer than one batch of {batch_size}: every step draws the same "
            f"few again (collect more episodes, or lower --batch-size)"
        )
    counts = Counter(int(a) for a in actions)
    if counts:
        action, k = counts.most_common(1)[0]
        if k / n > BEHAVIOUR_SHARE:
            name = ACTION_NAMES[action] if 0 <= action < len(ACTION_NAMES) else str(action)
            out.append(
                f"{k} of {n} transitions ({k / n:.0%}) are {name}: a policy learnt from them can do "
                f"little else (collect with a higher --epsilon)"
            )
    return out


def run_train(args) -> int:
    from training.policies.checkpoint import save_checkpoint
    from training.policies.dataset_checks import load_training_dataset
    from training.policies.iql import IQLConfig
    from training.policies.trainer import train_offline
    from training.util.devices import resolve_device

    checked_distinct([("-o", args.output)], [("dataset", args.data)])
    steps_done = [0]
    # Training keeps nothing until its checkpoint is written whole, so a signal ends it at once,
    # even inside a step that takes minutes (a large network): no waiting for a boundary.
    args.signals.at_once(
        lambda: (
            (
                f"after {steps_done[0]} training step(s)"
                if steps_done[0]
                else "before the first training step"
            )
            + "; no checkpoint was written"
        )
    )
    path = output(args.output, "the checkpoint", args.force)
    try:
        device = resolve_device(args.device)
        # special files, sane values, width
        dataset = load_training_dataset(args.data, args.features)
        config = IQLConfig(
            tau=args.tau, beta=args.beta, lr=args.lr, batch_size=args.batch_size, hidden=args.hidden
        )
    except ValueError as exc:
        fail(str(exc))
    n = len(dataset.actions)
    say(f"{args.data}: {n} transitions, {dataset.state_dim} features ('{dataset.feature_set}')")
    for warning in data_warnings(dataset.actions, config.batch_size):
        say(f"esper-iql: warning: {warning}", err=True)
    progress = ProgressBars("count", "info", "eta")
    bar = progress.add("train", total=args.steps, info="")
    every = max(args.steps // 10, 1)
    log: list[str] = []
    guard = loss_guard(args.signals.stop, args.signals)

    def report(step: int, losses: dict) -> None:
        guard(step, losses)
        steps_done[0] = step
        if step % every == 0 or step == args.steps:
            progress.update(
                bar, completed=step, info=f"L_V {losses['loss_v']:.4f} L_Q {losses['loss_q']:.4f}"
            )
            log.append(f"step {step:>6}: " + " ".join(f"{k} {v:.4f}" for k, v in losses.items()))
        elif (
            step % 100 == 0
        ):  # the bar moves with every block of steps (Rich redraws at its own pace)
            progress.update(bar, completed=step)

    try:
        with progress:
            result = train_offline(
                dataset, args.steps, config, seed=args.seed, progress=report, device=device
            )
    except ValueError as exc:
        fail(str(exc))
    except TrainingStopped as exc:  # a signal, or a NaN/inf loss
        warn(str(exc), PROG)
        return args.signals.code or 1
    for line in log:
        say(line)
    counts = result.action_counts
    say(f"action histogram, data: {action_histogram(counts['data'])}")
    say(f"action histogram, IQL:  {action_histogram(counts['iql'])}")
    say(f"action histogram, BC:   {action_histogram(counts['bc'])}")
    say(
        f"agreement with the data: IQL {100.0 * result.agreement['iql']:.1f}%, "
        f"BC {100.0 * result.agreement['bc']:.1f}%"
    )
    metadata = dict(dataset.metadata)
    metadata.update(
        {"trained_steps": args.steps, "train_seed": args.seed, "source": str(args.data)}
    )
    failure = deliver(
        path,
        lambda tmp: save_checkpoint(
            tmp, result.iql, result.normalizer, result.feature_set, metadata
        ),
        "the checkpoint",
        args.force,
    )
    if (
        failure is not None
    ):  # a full disk, the folder gone or read-only: the model is elsewhere, say where
        warn(failure, PROG)
        return 1
    say(f"wrote {path}")
    return 0
