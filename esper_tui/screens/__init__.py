"""Modal and full screens over the dashboard: help, seed detail, confirm, crash, finished,
filter. One module per idea; the dashboard itself is ``esper_tui.dashboard``."""

from esper_tui.screens.detail import SeedDetailScreen
from esper_tui.screens.dialogs import ConfirmScreen, CrashScreen, FilterScreen, FinishedScreen
from esper_tui.screens.help import HelpScreen

__all__ = [
    "ConfirmScreen",
    "CrashScreen",
    "FilterScreen",
    "FinishedScreen",
    "HelpScreen",
    "SeedDetailScreen",
]
