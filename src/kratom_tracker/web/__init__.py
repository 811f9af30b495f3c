"""The HTTP face: the JSON API, the feeds and the dashboard (FastAPI). Only the `serve` command imports it."""
