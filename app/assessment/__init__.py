"""The main assessment: indicator catalogue, settings, data pool, score runs and results."""
