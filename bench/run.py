"""Side-by-side benchmark: kratom-tracker against urlwatch 2.29 on the same generated pages, the same
local server and the same disk, measured with /usr/bin/time -v; then the politeness-defaults run and the
query/publish costs on a synthetic store of a million events.

    .venv/bin/python bench/run.py                      # everything (about 45 minutes on 2 cores)
    .venv/bin/python bench/run.py --sizes 200 --reps 1 --no-defaults --no-query   # a quick smoke run

Every pass is checked: after the edits, exactly the pages with a real change must be reported changed by
each tool (footer-only and touched pages must not be). A wrong answer stops the run."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import pages  # noqa: E402

OUT = BENCH / "out"
URLWATCH_VENV = BENCH / ".venv-urlwatch"
URLWATCH_VERSION = "2.29"
URLWATCH_TIMEOUT = 600.0  # a pass longer than this counts as "did not finish"
PASSES = ("first", "unchanged", "edited")
JURISDICTIONS = ("US", "US-FL", "US-CA", "US-TX", "US-AL", "US-IN", "US-WI", "US-VT", "US-RI", "US-AR",
                 "US-FL/sarasota-county", "US-CA/san-diego", "GB", "TH", "AU-NSW", "CA-ON")
SIDE_BY_SIDE_POLITENESS = "politeness:\n  per_host_concurrency: 64\n  per_host_delay: 0s\n  robots: false\n"


@dataclass
class Measure:
    tool: str
    size: int
    pass_name: str
    rep: int
    wall: float
    cpu: float
    rss_mb: float
    ok: bool
    note: str = ""
    db_bytes: int = 0


@dataclass
class Results:
    machine: dict = field(default_factory=dict)
    runs: list[Measure] = field(default_factory=list)
    defaults_runs: list[Measure] = field(default_factory=list)
    queries: dict = field(default_factory=dict)


# -- tools -----------------------------------------------------------------------------------------------


def ensure_urlwatch() -> Path:
    exe = URLWATCH_VENV / "bin" / "urlwatch"
    if not exe.exists():
        print(f"installing urlwatch {URLWATCH_VERSION} into {URLWATCH_VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(URLWATCH_VENV)], check=True)
        subprocess.run([str(URLWATCH_VENV / "bin" / "pip"), "install", "-q", f"urlwatch=={URLWATCH_VERSION}"],
                       check=True)
    return exe


def ensure_time() -> None:
    if not Path("/usr/bin/time").exists():
        sys.exit("bench: /usr/bin/time is missing; install it (Debian: apt-get install time) and run again")


def kratom_exe() -> Path:
    exe = Path(sys.executable).parent / "kratom-tracker"
    if not exe.exists():
        sys.exit(f"bench: {exe} not found; run `pip install -e .` in this virtualenv first")
    return exe


@dataclass
class Timed:
    returncode: int
    wall: float
    cpu: float
    rss_mb: float
    stdout: str
    timed_out: bool = False


def timed(cmd: list[str], log: Path, timeout: float | None = None) -> Timed:
    """Run under /usr/bin/time -v; wall, user+sys CPU and peak RSS of the command (and its children)."""
    report = log.with_suffix(".time")
    with open(log, "w") as err:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(report), *cmd], stdout=subprocess.PIPE,
                                stderr=err, text=True, start_new_session=True)
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Timed(-1, timeout or 0.0, 0.0, 0.0, "", timed_out=True)
    text = report.read_text()
    return Timed(proc.returncode, _elapsed(text), _field(text, "User time (seconds)")
                 + _field(text, "System time (seconds)"), _field(text, "Maximum resident set size (kbytes)") / 1024,
                 stdout)


def _field(text: str, name: str) -> float:
    match = re.search(re.escape(name) + r":\s*([\d.]+)", text)
    return float(match.group(1)) if match else 0.0


def _elapsed(text: str) -> float:
    match = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\):\s*([\d:.]+)", text)
    if not match:
        return 0.0
    seconds = 0.0
    for part in match.group(1).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


# -- the local server --------------------------------------------------------------------------------------


class Server:
    def __init__(self, root: Path):
        self.proc = subprocess.Popen([sys.executable, str(BENCH / "server.py"), "--root", str(root)],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.stop()
            sys.exit("bench: the local server did not start")
        self.port = int(line.split()[1])

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/{pages.page_name(index)}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- configs --------------------------------------------------------------------------------------------------


def source_id(index: int) -> str:
    return f"page-{index:05d}"


def write_kratom_sources(path: Path, server: Server, size: int, politeness_off: bool) -> None:
    lines = ['user_agent: "kratom-tracker-bench/0.1 (+http://127.0.0.1/)"']
    if politeness_off:
        lines.append(SIDE_BY_SIDE_POLITENESS.rstrip())
    lines.append("sources:")
    for index in range(size):
        lines += [f"  - id: {source_id(index)}", "    type: page", f"    url: {server.url(index)}",
                  f"    jurisdiction: {JURISDICTIONS[index % len(JURISDICTIONS)]}",
                  '    select: "main"', '    ignore: ["Content current as of .*"]']
    path.write_text("\n".join(lines) + "\n")


def write_urlwatch_files(folder: Path, server: Server, size: int) -> None:
    jobs = [f"name: {source_id(i)}\nurl: {server.url(i)}\nfilter:\n  - css: main\n  - html2text\n"
            f"  - grepi: 'Content current as of'\n  - strip\n" for i in range(size)]
    (folder / "urls.yaml").write_text("---\n".join(jobs))
    (folder / "config.yaml").write_text("report:\n  stdout:\n    enabled: true\n    color: false\n")


# -- one pass of each tool ------------------------------------------------------------------------------------


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(str(path) + "-wal")) if p.exists())


def kratom_pass(folder: Path, size: int, pass_name: str, rep: int, expected: set[str]) -> Measure:
    db = folder / "tracker.db"
    before = db_size(db)
    run = timed([str(kratom_exe()), "collect", "--sources", str(folder / "sources.yaml"), "--db", str(db),
                 "--quiet"], folder / f"kt-{pass_name}.log")
    ok, note = check_kratom(db, size, pass_name, expected, run)
    return Measure("kratom-tracker", size, pass_name, rep, run.wall, run.cpu, run.rss_mb, ok, note,
                   db_size(db) - before)


def check_kratom(db: Path, size: int, pass_name: str, expected: set[str], run: Timed) -> tuple[bool, str]:
    if run.returncode != 0:
        return False, f"exit {run.returncode}"
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        sources = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
        snapshots = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
        changed = {row[0] for row in conn.execute("SELECT DISTINCT source_id FROM events")}
        outcomes = dict(conn.execute("SELECT last_outcome, count(*) FROM sources GROUP BY last_outcome").fetchall())
    problems = []
    if sources != size:
        problems.append(f"{sources} sources stored, expected {size}")
    want_snapshots = size + (len(expected) if pass_name == "edited" else 0)
    if snapshots != want_snapshots:
        problems.append(f"{snapshots} snapshots, expected {want_snapshots}")
    want_changed = expected if pass_name == "edited" else set()
    if changed != want_changed:
        problems.append(f"changed {len(changed)} (missed {len(want_changed - changed)}, "
                        f"false {len(changed - want_changed)})")
    bad = {k: v for k, v in outcomes.items() if k not in ("initial", "changed", "unchanged", "not-modified")}
    if bad:
        problems.append(f"failed outcomes {bad}")
    return not problems, "; ".join(problems) or json.dumps(outcomes, sort_keys=True)


def urlwatch_pass(folder: Path, size: int, pass_name: str, rep: int, expected: set[str]) -> Measure:
    exe = ensure_urlwatch()
    cache = folder / "cache.db"
    before = db_size(cache)
    run = timed([str(exe), "--urls", str(folder / "urls.yaml"), "--config", str(folder / "config.yaml"),
                 "--hooks", str(folder / "hooks.py"), "--cache", str(cache)], folder / f"uw-{pass_name}.log",
                timeout=URLWATCH_TIMEOUT)
    if run.timed_out:
        return Measure("urlwatch", size, pass_name, rep, run.wall, 0, 0, False, "did not finish in 10 minutes")
    (folder / f"uw-{pass_name}.out").write_text(run.stdout)
    ok, note = check_urlwatch(run.stdout, size, pass_name, expected, run.returncode)
    return Measure("urlwatch", size, pass_name, rep, run.wall, run.cpu, run.rss_mb, ok, note, db_size(cache) - before)


def check_urlwatch(stdout: str, size: int, pass_name: str, expected: set[str], code: int) -> tuple[bool, str]:
    verbs: dict[str, set[str]] = {}
    for verb, name in re.findall(r"^\d+\. (NEW|CHANGED|ERROR|UNCHANGED): (\S+)", stdout, re.MULTILINE):
        verbs.setdefault(verb, set()).add(name)
    problems = []
    if code != 0:
        problems.append(f"exit {code}")
    if verbs.get("ERROR"):
        problems.append(f"{len(verbs['ERROR'])} errors")
    if pass_name == "first" and len(verbs.get("NEW", ())) != size:
        problems.append(f"{len(verbs.get('NEW', ()))} new, expected {size}")
    want = expected if pass_name == "edited" else set()
    got = verbs.get("CHANGED", set())
    if got != want:
        problems.append(f"changed {len(got)} (missed {len(want - got)}, false {len(got - want)})")
    return not problems, "; ".join(problems) or f"changed {len(got)}"


# -- one size -------------------------------------------------------------------------------------------------


def run_size(size: int, reps: int, with_urlwatch: bool, politeness_off: bool, results: list[Measure],
             save: Callable[[], None]) -> None:
    base = OUT / (f"n{size}" if politeness_off else f"n{size}-defaults")
    shutil.rmtree(base, ignore_errors=True)
    site, kt_dir, uw_dir = base / "site", base / "kratom", base / "urlwatch"
    pages.write_pages(site, size)
    plan = pages.plan_edits(size)
    expected = {source_id(i) for i in plan.changed}
    server = Server(site)
    try:
        for rep in range(reps):
            pages.write_pages(site, size)
            for folder in (kt_dir, uw_dir):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
            write_kratom_sources(kt_dir / "sources.yaml", server, size, politeness_off)
            write_urlwatch_files(uw_dir, server, size)
            for pass_name in PASSES:
                if pass_name == "edited":
                    pages.apply_edits(site, plan, time.time())
                for measure in [kratom_pass(kt_dir, size, pass_name, rep, expected)] + (
                        [urlwatch_pass(uw_dir, size, pass_name, rep, expected)] if with_urlwatch else []):
                    results.append(measure)
                    save()  # a long run stopped half-way keeps what it measured
                    print(f"  n={size:<6} rep {rep} {pass_name:<9} {measure.tool:<15} wall {measure.wall:7.2f}s "
                          f"cpu {measure.cpu:7.2f}s rss {measure.rss_mb:6.1f} MB  "
                          f"{'ok' if measure.ok else 'WRONG'} {measure.note}", file=sys.stderr, flush=True)
                    if measure.tool == "urlwatch" and measure.note.startswith("did not finish"):
                        with_urlwatch = False
                    elif not measure.ok:
                        raise SystemExit(f"bench: {measure.tool} gave a wrong answer at n={size} "
                                         f"{pass_name}: {measure.note}")
    finally:
        server.stop()


# -- the table ------------------------------------------------------------------------------------------------


def median_of(runs: list[Measure], tool: str, size: int, pass_name: str, attr: str) -> float | None:
    values = [getattr(m, attr) for m in runs if m.tool == tool and m.size == size and m.pass_name == pass_name
              and m.ok]
    return statistics.median(values) if values else None


def table(runs: list[Measure]) -> str:
    rows = ["| pages | pass | kt wall s | uw wall s | wall ratio uw/kt | kt CPU s | uw CPU s | CPU ratio | "
            "kt peak RSS MB | uw peak RSS MB | kt DB growth B/source | reps |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in sorted({m.size for m in runs}):
        for pass_name in PASSES:
            def med(tool: str, attr: str, p: str = pass_name, s: int = size) -> float | None:
                return median_of(runs, tool, s, p, attr)
            kt_wall, uw_wall = med("kratom-tracker", "wall"), med("urlwatch", "wall")
            kt_cpu, uw_cpu = med("kratom-tracker", "cpu"), med("urlwatch", "cpu")
            growth = med("kratom-tracker", "db_bytes")
            reps = len([m for m in runs if m.size == size and m.pass_name == pass_name and m.tool == "kratom-tracker"])
            rows.append(f"| {size} | {pass_name} | {_f(kt_wall)} | {_f(uw_wall)} | {_ratio(uw_wall, kt_wall)} | "
                        f"{_f(kt_cpu)} | {_f(uw_cpu)} | {_ratio(uw_cpu, kt_cpu)} | "
                        f"{_f(med('kratom-tracker', 'rss_mb'), 1)} | {_f(med('urlwatch', 'rss_mb'), 1)} | "
                        f"{_f(growth / size if growth is not None else None, 0)} | {reps} |")
    return "\n".join(rows)


def _f(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "—"
    return f"{numerator / denominator:.1f}×"


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "kernel": os.uname().release}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1)  # type: ignore[union-attr]
        meminfo = Path("/proc/meminfo").read_text()
        info["memory_gb"] = round(int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1)) / 1024 / 1024, 1)  # type: ignore[union-attr]
    except (OSError, AttributeError):
        pass
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description="kratom-tracker vs urlwatch benchmark")
    parser.add_argument("--sizes", default="200,1000,10000", help="page counts, comma-separated")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--large-reps", type=int, default=None,
                        help="repetitions for sizes of 5000 pages and more (default: --reps)")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--no-defaults", action="store_true", help="skip the politeness-defaults run")
    parser.add_argument("--defaults-size", type=int, default=200)
    parser.add_argument("--no-query", action="store_true", help="skip the 1M-event query/publish timing")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--results", type=Path, default=OUT / "results.json", help="where to keep the figures")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: stopped"))  # so the local server is stopped too
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        print("bench: --sizes takes page counts like 200,1000", file=sys.stderr)
        return 2
    ensure_time()
    kratom_exe()
    if not args.no_urlwatch:
        ensure_urlwatch()
    OUT.mkdir(exist_ok=True)
    results = Results(machine=machine())
    for size in sizes:
        print(f"side by side, politeness off: {size} pages x {args.reps} repetitions", file=sys.stderr)
        reps = args.large_reps if size >= 5000 and args.large_reps else args.reps
        run_size(size, reps, not args.no_urlwatch, True, results.runs, lambda: _save(results, args.results))
        _save(results, args.results)
    if not args.no_defaults:
        print(f"kratom-tracker with its politeness defaults: {args.defaults_size} pages", file=sys.stderr)
        run_size(args.defaults_size, 1, False, False, results.defaults_runs, lambda: _save(results, args.results))
        _save(results, args.results)
    if not args.no_query:
        import querybench

        results.queries = querybench.run(OUT / "query", args.events)
        _save(results, args.results)
    if results.runs:
        print("\n## Side by side (politeness off), medians\n")
        print(table(results.runs))
    if results.defaults_runs:
        print("\n## kratom-tracker with its politeness defaults (1 host: per_host_delay 1s, concurrency 2, "
              "robots.txt)\n")
        print(table(results.defaults_runs))
    if results.queries:
        print("\n## Queries and publish on a synthetic store\n")
        print(querybench.table(results.queries))
    print(f"\nmachine: {json.dumps(results.machine)}")
    return 0


def _save(results: Results, path: Path) -> None:
    data = {"machine": results.machine, "runs": [asdict(m) for m in results.runs],
            "defaults_runs": [asdict(m) for m in results.defaults_runs], "queries": results.queries}
    path.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    sys.exit(main())
