"""One Textual widget per dashboard panel. Each takes the view models of ``widgets.model``
(filled by the store from the records of ``training.records``) and renders them; none imports
torch or reaches into a model or trainer. The dashboard calls each panel's ``update_view`` when
the store's version changes."""

from widgets.decision_table import DecisionTable
from widgets.gradient_panel import GradientPanel
from widgets.run_header import RunHeader
from widgets.saturation_panel import SaturationPanel
from widgets.scoreboard import Scoreboard
from widgets.seed_card import SeedCard
from widgets.seed_grid import SeedGrid

__all__ = [
    "DecisionTable",
    "GradientPanel",
    "RunHeader",
    "SaturationPanel",
    "Scoreboard",
    "SeedCard",
    "SeedGrid",
]
