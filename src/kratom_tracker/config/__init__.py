"""sources.yaml: `model` holds the typed configuration and its defaults (imported by every layer),
`loader` parses and validates the file (it alone knows the source types' option schemas), `cache` keeps
validated configurations between runs. Import the submodule you need; this package imports nothing, so
that reading the model never pulls in the loader and the extractors it validates against."""
