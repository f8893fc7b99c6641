"""Runs of episodes: lanes, episodes, backends, the driver, Ray, statistics, collection, ablation."""
