"""What ships in the package works without a checkout: the packaged source list, baseline and localities,
`init`, and `sources test --file` with a path relative to the working folder (the README's example)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from conftest import html_page, run_cli, write_sources
from kratom_tracker import shipped

REPO = Path(__file__).resolve().parents[1]


def test_sources_test_takes_a_path_relative_to_the_working_folder(tmp_path, monkeypatch, capsys):
    sources = write_sources(tmp_path, "sources:\n  - id: p\n    type: page\n    url: https://example.org/\n"
                                      "    jurisdiction: US\n    select: main\n")
    (tmp_path / "page.html").write_bytes(html_page("<main><p>Kratom is regulated here.</p></main>"))
    monkeypatch.chdir(tmp_path)
    code = run_cli("sources", "test", "p", "--file", "page.html", "--sources", sources.name,
                   "--db", "missing.db")
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert code == 0, out.err
    assert "Kratom is regulated here." in out.out


def test_with_no_sources_yaml_here_the_packaged_list_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KRATOM_TRACKER_SOURCES", raising=False)
    assert run_cli("sources", "check") == 0
    out = capsys.readouterr()
    assert str(shipped.SOURCES) in out.out
    assert "packaged" in out.err  # says which list it used, and how to get an editable copy
    assert "kratom-tracker init" in out.err


def test_init_writes_an_editable_copy_that_keeps_finding_the_shipped_baseline(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KRATOM_TRACKER_SOURCES", raising=False)
    assert run_cli("init", "site") == 0
    copy = tmp_path / "site" / "sources.yaml"
    assert copy.read_bytes() == shipped.SOURCES.read_bytes()
    assert run_cli("init", "site") == 2  # never overwrites an edited copy
    capsys.readouterr()
    assert run_cli("sources", "check", "--sources", str(copy)) == 0
    assert "packaged" not in capsys.readouterr().err
    from kratom_tracker.config.loader import load

    baseline = load(copy).source("baseline-us")
    assert Path(baseline.option("path")) == shipped.data_file("baseline_us.csv")


def test_a_local_data_file_next_to_the_copy_wins_over_the_shipped_one(tmp_path):
    (tmp_path / "data").mkdir()
    local = tmp_path / "data" / "baseline_us.csv"
    shutil.copy(shipped.data_file("baseline_us.csv"), local)
    assert shipped.resolve_data_file("data/baseline_us.csv", tmp_path) == local.resolve()
    assert shipped.resolve_data_file("data/nothing.csv", tmp_path) == (tmp_path / "data" / "nothing.csv").resolve()


@pytest.fixture(scope="module")
def installed_tool(tmp_path_factory) -> Path:
    """`pip install .` (not editable) into a fresh venv that reuses this one's packages (no network)."""
    root = tmp_path_factory.mktemp("installed")
    env_dir = root / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    # Reuse the test environment's dependencies through a .pth file; the project itself is built from the
    # checkout into a wheel and installed for real, so only what ships in the wheel is there.
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    wheel_dir = root / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(REPO)], check=True, capture_output=True)
    wheel = next(wheel_dir.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                    "--no-deps", "-q", "--target", str(site), str(wheel)], check=True, capture_output=True)
    return env_dir / "bin" / "python"


def _run(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRATOM_TRACKER_")}
    env["PYTHONPATH"] = ""
    return subprocess.run([str(python), "-m", "kratom_tracker", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_installed_tool_knows_the_shipped_sources_and_baseline(installed_tool, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run([str(installed_tool), "-c", "import kratom_tracker; print(kratom_tracker.__file__)"],
                           cwd=empty, capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
    assert str(REPO) not in where.stdout, "the test must run the installed copy, not the checkout"
    check = _run(installed_tool, empty, "sources", "check")
    assert check.returncode == 0, check.stderr
    assert "packaged" in check.stderr
    collect = _run(installed_tool, empty, "collect", "--only", "baseline-us", "baseline-intl", "--db", "t.db")
    assert collect.returncode == 0, collect.stderr + collect.stdout
    status = _run(installed_tool, empty, "status", "Sarasota County, Florida", "--db", "t.db", "--json")
    assert status.returncode == 0, status.stderr
    assert '"US-FL/sarasota-county"' in status.stdout
    init = _run(installed_tool, empty, "init")
    assert init.returncode == 0, init.stderr
    assert (empty / "sources.yaml").is_file()
    again = _run(installed_tool, empty, "sources", "check")
    assert again.returncode == 0 and "packaged" not in again.stderr, again.stderr
