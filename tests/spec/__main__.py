"""Run .wast scripts from the command line and print what failed:

    python -m tests.spec [--engine aot|wasmtime] [-O LEVEL] [--timeout S] [--in-process] [-v]
                         FILE_OR_NAME...

A bare name like `i32` means core/i32.wast of the suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .engine import ENGINES, engine_name, load_engine
from .isolate import command_timeout, run_script
from .suite import suite_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.spec", description=__doc__.split("\n")[0]
    )
    parser.add_argument("scripts", nargs="+", help=".wast files, or names of core scripts")
    parser.add_argument("--engine", choices=ENGINES, default=engine_name())
    parser.add_argument("-O", dest="opt_level", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=command_timeout(), help="per command")
    parser.add_argument(
        "--in-process", action="store_true", help="no child process: no timeout, easier to debug"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    load_engine(args.engine)  # fail early and readably
    all_passed = True
    for script in args.scripts:
        path = Path(script)
        if not path.exists():
            path = suite_dir() / "core" / f"{script}.wast"
        start = time.perf_counter()
        _, result = run_script(
            path, args.engine, args.opt_level, args.timeout, isolate=not args.in_process
        )
        seconds = time.perf_counter() - start
        print(
            f"{path.stem}: {result.passed} passed, {result.failed} failed, "
            f"{result.skipped} skipped, {result.message_mismatch} message mismatches "
            f"({seconds:.1f}s)"
        )
        for reason, count in result.skip_reasons.items():
            print(f"  skipped {count}x: {reason}")
        for failure in result.failures[: None if args.verbose else 10]:
            print(f"  line {failure['line']}: {failure['command']}: {failure['reason']}")
        all_passed &= result.failed == 0
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
