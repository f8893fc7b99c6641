"""The command lines: ``esper-tui`` (tui.py) and ``esper-iql`` (iql.py), and what they share."""
