"""The workspace: the runs screen (``esper-tui --runs DIR``, ``r``), the comparison of selected
runs (``c``) and a run opened from the list (a replay or a follow, ``escape`` comes back)."""
