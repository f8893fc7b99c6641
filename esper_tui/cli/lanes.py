"""The lanes of a comparison: the heuristic and one per IQL model file."""

from __future__ import annotations

import warnings
from pathlib import Path

from esper_tui.cli.common import UsageError
from training.records.text import printable


def load_model_lanes(paths: list[str], device: str, limit: int | None = 2):
    """Lanes for the models, named after their files; a bad file raises UsageError (one sentence).
    Each file is read once, judged and parsed here on ``device`` (parsed once per process: the
    episodes this process runs reuse it), and carried as bytes, so that workers and cluster
    nodes need no copy of the file. The dashboard has room for two model lanes beside the
    heuristic; headless runs pass no limit."""
    from training.policies.checkpoint import shared_model
    from training.policies.checkpoint_checks import ModelLoadError
    from training.policies.iql_policy import IQLPolicy
    from training.policies.model_file import ModelFileProblem, read_model_file
    from training.runs.lanes import Lane

    if limit is not None and len(paths) > limit:  # the message names two: the dashboard's limit
        raise UsageError(
            f"at most two --model files, got {len(paths)}: the dashboard has room for two model "
            "lanes (esper-iql compare takes any number)"
        )
    lanes = []
    used = {"heuristic"}
    for path in paths:
        try:
            data = read_model_file(path)
            # e.g. "unknown state_dim": the refusal below says it in one sentence
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                policy = IQLPolicy(shared_model(data, device, path), device=device)
        except ModelFileProblem as problem:
            raise UsageError(f"cannot load IQL model {Path(path)}: {problem}.") from None
        except ModelLoadError as exc:
            raise UsageError(str(exc)) from None
        except Exception as exc:  # noqa: BLE001 - whatever a file provokes, the user gets one sentence
            raise UsageError(
                f"cannot load IQL model {path}: it is malformed ({type(exc).__name__})."
            ) from None
        name = printable(Path(path).stem) or "iql"  # a file's name is foreign text
        while name in used:
            name += "'"
        used.add(name)
        policy.name = name
        lanes.append(Lane(policy.lane_info(), model=data))
    return lanes
