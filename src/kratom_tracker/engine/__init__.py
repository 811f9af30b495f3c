"""Running sources: one pass (`pipeline`), the daemon (`scheduler`), source health (`health`)."""
