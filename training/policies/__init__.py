"""Controllers behind one protocol: the heuristic and offline-trained IQL."""

from training.policies.checkpoint import (
    IQLPolicy,
    LoadedModel,
    ModelLoadError,
    load_checkpoint,
    load_iql_model,
    save_checkpoint,
)
from training.policies.iql import (
    IQL,
    BehaviourCloning,
    IQLConfig,
    OfflineDataset,
    TrainResult,
    expectile_loss,
    train_offline,
)

__all__ = [
    "IQL",
    "BehaviourCloning",
    "IQLConfig",
    "IQLPolicy",
    "LoadedModel",
    "ModelLoadError",
    "OfflineDataset",
    "TrainResult",
    "expectile_loss",
    "load_checkpoint",
    "load_iql_model",
    "save_checkpoint",
    "train_offline",
]
