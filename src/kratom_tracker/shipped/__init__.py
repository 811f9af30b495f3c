"""What ships inside the package: the curated source list and the cited baseline and localities tables.

An installed tool (`pip install .`, `pipx install`) must know these without a git checkout: with no
`sources.yaml` in the working folder the packaged list is used, and a copied `sources.yaml` whose relative
baseline paths do not exist next to it still finds the packaged tables (see `resolve_data_file`).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources.yaml"
DATASETTE_METADATA = HERE / "datasette.yaml"  # `datasette data/tracker.db -m` this file
DATA = HERE / "data"


def data_file(name: str) -> Path:
    """The packaged copy of a data file (`baseline_us.csv`, `localities.csv`, ...)."""
    return DATA / name


def resolve_data_file(relative: str, config_dir: Path) -> Path:
    """`relative` next to the sources.yaml in `config_dir`; failing that, the packaged file of the same
    name when the path points into a `data/` folder (so `path: data/baseline_us.csv` in a copied
    sources.yaml keeps finding the shipped baseline); failing both, the first candidate, for the error."""
    local = (config_dir / relative).resolve()
    if local.exists():
        return local
    parts = Path(relative).parts
    if len(parts) == 2 and parts[0] == "data" and data_file(parts[1]).is_file():
        return data_file(parts[1])
    return local
