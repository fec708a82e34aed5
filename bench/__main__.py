"""`python -m bench`: run the call-overhead benchmarks (bench/test_call_overhead.py) and
write the report: bench/results/call_overhead.{json,md,png}; the table is printed too.

    python -m bench                          # measure, then render
    python -m bench --from-json FILE         # render an earlier run's JSON, no measuring
    python -m bench -- --benchmark-max-time=2   # after `--`: extra pytest arguments
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SUITE = "bench/test_call_overhead.py"


def measure(json_path: Path, extra: list[str]) -> None:
    """Run the suite; on success write its pytest-benchmark JSON to `json_path` (an
    earlier run's file stays in place when a benchmark fails)."""
    env = {"AOT_CACHE_DIR": str(ROOT / "cache"), **os.environ}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "run.json"
        # A small round time: sub-microsecond calls get thousands of iterations per round
        # instead of a handful, so timer resolution does not dominate the medians.
        command = [sys.executable, "-m", "pytest", SUITE, "-p", "no:cacheprovider", "-q",
                   "--benchmark-min-time=0.0002",
                   "--benchmark-columns=median,iqr,iterations,rounds",
                   f"--benchmark-json={raw}", *extra]
        status = subprocess.run(command, cwd=ROOT, env=env).returncode
        if status != 0:
            how = f"killed by signal {-status}" if status < 0 else f"pytest exit status {status}"
            sys.exit(f"the benchmarks failed ({how}); no report written")
        data = json.loads(raw.read_text())
    # Keep the statistics, drop every round's time (megabytes): the JSON stays small enough
    # to keep beside the report and render again with --from-json.
    for bench in data["benchmarks"]:
        bench["stats"].pop("data", None)
    json_path.write_text(json.dumps(data, indent=1) + "\n")


def render(json_path: Path, out_dir: Path) -> str:
    from bench.report import chart, load, markdown

    results = load(json_path)
    table = markdown(results)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "call_overhead.md").write_text(table)
    chart(results).savefig(out_dir / "call_overhead.png")
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from-json", type=Path, metavar="FILE",
                        help="render this pytest-benchmark JSON instead of measuring")
    parser.add_argument("--out", type=Path, default=RESULTS, metavar="DIR",
                        help=f"where the report goes (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    args = parser.parse_args(argv)
    json_path = args.from_json
    if json_path is None:
        args.out.mkdir(parents=True, exist_ok=True)
        json_path = args.out / "call_overhead.json"
        measure(json_path, args.pytest_args)
    print(render(json_path, args.out), end="")
    print(f"\nwrote {args.out / 'call_overhead.md'} and {args.out / 'call_overhead.png'}")


if __name__ == "__main__":
    main()
