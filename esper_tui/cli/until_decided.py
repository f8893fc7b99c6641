"""``esper-iql compare``'s power and stopping flags: ``--effect`` (the target effect whose
episodes-needed every paired result reports) and ``--until-decided --max-episodes N
[--min-episodes M]``, which ends the comparison as soon as every model's anytime-valid confidence
sequence excludes 0 (``training.runs.stats.confidence_sequences``)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from esper_tui.cli.common import UsageError, bounded_int, positive_float


def add_until_decided_flags(parser: argparse.ArgumentParser) -> None:
    from training.runs.stats import DEFAULT_EFFECT, MIN_EPISODES

    group = parser.add_argument_group("power and stopping when decided")
    group.add_argument(
        "--effect",
        type=positive_float,
        default=DEFAULT_EFFECT,
        metavar="POINTS",
        help="the effect (accuracy points) whose episodes-needed every paired result reports "
        f"(default {DEFAULT_EFFECT})",
    )
    group.add_argument(
        "--until-decided",
        action="store_true",
        help="run episodes until every model's anytime-valid 95%% confidence sequence excludes 0, "
        "or --max-episodes",
    )
    group.add_argument(
        "--max-episodes",
        type=bounded_int(2, 100_000),
        metavar="N",
        help="with --until-decided: the most episodes to run",
    )
    group.add_argument(
        "--min-episodes",
        type=bounded_int(2, 100_000),
        metavar="M",
        help=f"with --until-decided: decide no earlier than M episodes (default {MIN_EPISODES})",
    )
    # --episodes: unset means its default, unless --until-decided replaces it.
    parser.set_defaults(episodes=None)


def resolve_episodes(args: argparse.Namespace, default: int) -> None:
    """Sets ``args.episodes`` (the maximum, until decided); a contradiction raises
    ``UsageError`` with one sentence."""
    if not args.until_decided:
        for flag, value in (
            ("--max-episodes", args.max_episodes),
            ("--min-episodes", args.min_episodes),
        ):
            if value is not None:
                raise UsageError(f"{flag} needs --until-decided")
        args.episodes = default if args.episodes is None else args.episodes
        return
    if args.episodes is not None:
        raise UsageError(
            "give --episodes N for a fixed number, or --until-decided --max-episodes N, not both"
        )
    if args.max_episodes is None:
        raise UsageError("--until-decided needs --max-episodes N, the most episodes it may run")
    from training.runs.stats import MIN_EPISODES

    minimum = args.min_episodes if args.min_episodes is not None else MIN_EPISODES
    if minimum > args.max_episodes:
        raise UsageError(
            f"--max-episodes {args.max_episodes} is fewer than the {minimum} episodes a "
            "decision needs at least (--min-episodes)"
        )
    if args.mode != "head-to-head":
        raise UsageError(
            "--until-decided needs --mode head-to-head: shadow lanes have no paired result"
        )
    args.episodes = args.max_episodes


def with_stopping(config, args: argparse.Namespace):
    """The run config with the flags' target effect and, until decided, its stopping rule."""
    from training.runs.stats import MIN_EPISODES

    config = replace(config, effect=args.effect)
    if not args.until_decided:
        return config
    minimum = args.min_episodes if args.min_episodes is not None else MIN_EPISODES
    return replace(config, until_decided=True, min_episodes=minimum)


def stopping_report(result, config) -> dict:
    """The JSON report's ``until_decided`` part."""
    return {
        "max_episodes": config.episodes,
        "min_episodes": config.min_episodes,
        "episodes_run": len(result.episodes),
        "decided": result.decided_at is not None,
        "decided_at": result.decided_at,
        "why": result.stop_reason(config.episodes),
    }
