"""The training core, in layers that import only downward: util, seeds, records, env, policies, runs."""
