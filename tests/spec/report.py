"""The JSON report of a spec-test run: per file and opt level, plus totals.

Each test case adds its result to the report file itself, under a file lock.  That works
the same without xdist, with it, and when the xdist controller never loads this folder's
conftest (as with a plain `pytest -n 2` from the repository root, where collection happens
in the workers only): whichever process writes last leaves the complete report.  A new run
(a different run id) starts the report afresh.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parent / "report.json"


def report_path() -> Path:
    return Path(os.environ.get("AOT_SPEC_REPORT") or DEFAULT_PATH)


def opt_key(opt_level: int) -> str:
    return f"O{opt_level}"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def record(
    path: Path, run_id: str, engine: str, script: str, opt_level: int, result: dict[str, Any]
) -> None:
    """Add one script's result to the report of run `run_id`."""
    with _locked(path):
        report = load(path)
        if not report or report.get("run_id") != run_id:
            report = {"run_id": run_id, "engine": engine, "files": {}}
        report["files"].setdefault(script, {})[opt_key(opt_level)] = result
        report["files"] = dict(sorted(report["files"].items()))
        report["totals"] = totals(report["files"])
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(report, indent=1) + "\n")
        tmp.replace(path)  # atomic: readers never see half a report


def totals(files: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, int]]:
    """Per opt level: files (fully passing / total) and command counts."""
    out: dict[str, dict[str, int]] = {}
    for per_opt in files.values():
        for opt, r in per_opt.items():
            t = out.setdefault(opt, dict.fromkeys(
                ["files", "files_passing", "passed", "failed", "skipped", "message_mismatch"], 0
            ))  # fmt: skip
            t["files"] += 1
            t["files_passing"] += r["failed"] == 0
            for key in ("passed", "failed", "skipped", "message_mismatch"):
                t[key] += r[key]
    return dict(sorted(out.items()))


def summary_lines(report: dict[str, Any], path: Path) -> list[str]:
    """A short table for the terminal."""
    lines = [f"engine: {report['engine']}; report: {path}"]
    lines.append(f"{'opt':<4} {'files passing':>14} {'passed':>8} {'failed':>7} {'skipped':>8} "
                 f"{'msg mismatch':>13}")  # fmt: skip
    for opt, t in report["totals"].items():
        lines.append(
            f"{opt:<4} {t['files_passing']:>6} / {t['files']:<5} {t['passed']:>8} {t['failed']:>7} "
            f"{t['skipped']:>8} {t['message_mismatch']:>13}"
        )
    reasons: dict[str, int] = {}
    for per_opt in report["files"].values():
        for r in per_opt.values():
            for reason, n in r["skip_reasons"].items():
                reasons[reason] = reasons.get(reason, 0) + n
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:8]:
        lines.append(f"  skipped {n:>6}: {reason}")
    return lines
