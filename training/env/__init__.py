"""One controlled training run: data, run config, the environment, signals, features, actions."""
