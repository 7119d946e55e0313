"""Looking after a store: `pyv doctor` and the housekeeping commands (du, prune, cache)."""
