"""``python -m esper_tui.cli`` runs ``esper-tui`` (``python -m esper_tui.cli.iql`` runs ``esper-iql``)."""

from esper_tui.cli.tui import main

raise SystemExit(main())
