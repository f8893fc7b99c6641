"""A seed and its host: lifecycle, gates, seed state, alpha ramp, blueprints, telemetry, gradients."""
