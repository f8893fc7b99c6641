"""Plumbing every layer may use: checked paths and safe writes, devices, stop flags."""
