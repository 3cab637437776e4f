"""Evals of the loop's stages against the seeded-fault scenarios."""
