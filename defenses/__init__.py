"""Defenses: strip metadata, and protect pixels (baselines, PPEDCRF)."""
