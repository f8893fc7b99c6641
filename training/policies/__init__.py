"""Controllers behind one protocol (heuristic, behaviour, IQL, BC), checkpoints, offline data."""
