"""Benchmarks compare aot with wasmtime-py in the same run; the summary prints ratios of
medians per group (these machines are shared and noisy: ratios travel, absolute
nanoseconds do not)."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest
import wasmtime

os.environ.setdefault("AOT_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "cache"))


def wat(text: str) -> bytes:
    return wasmtime.wat2wasm(text)


def pytest_terminal_summary(terminalreporter, config):
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return
    groups: dict[str, dict[str, float]] = {}
    minima: dict[str, dict[str, float]] = {}
    paired: dict[str, float] = {}  # group -> median aot/wasmtime-py ratio of alternating rounds
    for bench in session.benchmarks:
        if bench.stats is None or not bench.stats.data:  # failed before measuring
            continue
        engine = bench.name.split("[")[-1].rstrip("]") if "[" in bench.name else bench.name
        per = bench.extra_info.get("calls_per_round", 1)  # loops in wasm: cost per call
        groups.setdefault(bench.group or bench.name, {})[engine] = bench.stats.median / per
        minima.setdefault(bench.group or bench.name, {})[engine] = bench.stats.min / per
        if "paired_ratio" in bench.extra_info:  # wasmtime-py ran between aot's rounds
            groups[bench.group]["wasmtime"] = bench.extra_info["wasmtime_median"]
            groups[bench.group]["aot"] = groups[bench.group].pop(engine)
            paired[bench.group] = bench.extra_info["paired_ratio"]
    tr = terminalreporter
    tr.section("aot vs wasmtime-py (median)")
    for group, med in sorted(groups.items()):
        parts = [f"{eng} {t * 1e9:,.0f} ns" for eng, t in sorted(med.items())]
        line = f"{group:<28} " + ", ".join(parts)
        if group in paired:
            line += f"  ->  aot is {paired[group]:.2f}x faster than wasmtime-py (median of pairs)"
        elif "aot" in med and "wasmtime" in med:
            line += f"  ->  aot is {med['wasmtime'] / med['aot']:.1f}x faster than wasmtime-py"
        if "aot" in med and "python" in med:
            line += f", {med['aot'] / med['python']:.1f}x a plain Python call"
        if "off" in med:  # aot variants against the same code with every option off
            # Minimum times: for deterministic CPU-bound code the least disturbed run is
            # the best estimate on a shared machine (medians move with the neighbours).
            low = minima[group]
            for eng, t in sorted(low.items()):
                if eng not in ("off", "wasmtime"):
                    line += f"  |  {eng}: {100 * (t / low['off'] - 1):+.1f}% vs off (min)"
            if "wasmtime" in med:
                line += f"  |  off is {med['wasmtime'] / med['off']:.2f}x faster than wasmtime-py"
        if "backtraces" in med and "wasmtime" in med:
            line += (f"  |  without backtraces {100 * (med['no-backtraces'] / med['backtraces'] - 1):+.1f}%"
                     f"  |  aot is {med['wasmtime'] / med['backtraces']:.1f}x faster than wasmtime-py")
        tr.write_line(line)


def pytest_benchmark_update_machine_info(config, machine_info):
    """The versions compared, for the report's machine line (`python -m bench`)."""
    import aot

    machine_info["aot_version"] = aot.__version__
    machine_info["wasmtime_version"] = version("wasmtime")


@pytest.fixture(scope="session")
def engines():
    return ("aot", "wasmtime", "python")


def pytest_sessionstart(session):
    """Keep the checkout's cache bounded: every edit of aot's sources changes the build
    id, so earlier entries are never used again; drop the least recently used first."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller does it once
    from aot.cache import Cache, parse_size

    Cache(os.environ["AOT_CACHE_DIR"]).prune(parse_size(os.environ.get("AOT_TEST_CACHE_MAX", "400M")))

