"""Controllers behind one protocol: the heuristic, the behaviour policy, offline-trained IQL, and its data."""
