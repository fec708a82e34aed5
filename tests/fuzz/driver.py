"""Runs fuzz cases in worker processes (`tests.fuzz.worker`) with a timeout each, and
counts: cases, findings (differences, foreign exceptions), crashes, hangs."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = {"differential": 120.0, "wasm": 60.0, "artifact": 30.0}


@dataclass
class Report:
    cases: dict[str, int] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.findings or self.crashes or self.hangs)

    def summary(self) -> str:
        counts = ", ".join(f"{n} {c}" for c, n in self.cases.items())
        lines = [f"{sum(self.cases.values())} cases ({counts}): {len(self.findings)} findings, "
                 f"{len(self.crashes)} crashes, {len(self.hangs)} hangs"]
        lines += [f"  finding: {f}" for f in self.findings]
        lines += [f"  crash: {c}" for c in self.crashes]
        lines += [f"  hang: {h}" for h in self.hangs]
        return "\n".join(lines)


class _Worker:
    def __init__(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), *sys.path]))
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker"], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        self.lines: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, campaign: str, seed: int) -> dict | str:
        """The case's report, or "crash" / "hang"."""
        self.proc.stdin.write(f"{campaign} {seed}\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=TIMEOUT[campaign])
        except queue.Empty:
            self.proc.kill()
            return "hang"
        if line is None:
            return f"crash (exit status {self.proc.wait()})"
        return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def run(cases: Iterable[tuple[str, int]], jobs: int = 1, deadline: float | None = None,
        progress=None) -> Report:
    """Run `cases` ((campaign, seed) pairs) on `jobs` workers until done or `deadline`
    (time.monotonic())."""
    report = Report()
    lock = threading.Lock()
    todo = iter(cases)

    def drive() -> None:
        # One worker per campaign: a loaded artifact mutant must not change what the
        # differential cases see (so a finding replays from its own seed).
        workers: dict[str, _Worker] = {}
        try:
            while deadline is None or time.monotonic() < deadline:
                with lock:
                    case = next(todo, None)
                if case is None:
                    return
                campaign, seed = case
                worker = workers.get(campaign) or workers.setdefault(campaign, _Worker())
                result = worker.run(campaign, seed)
                with lock:
                    report.cases[campaign] = report.cases.get(campaign, 0) + 1
                    if result == "hang":
                        report.hangs.append(f"{campaign} seed {seed}")
                    elif isinstance(result, str):
                        report.crashes.append(f"{campaign} seed {seed}: {result}")
                    elif result["finding"]:
                        report.findings.append(f"{campaign} {result['finding']}")
                    if progress:
                        progress(report)
                if isinstance(result, str):
                    del workers[campaign]  # dead or killed: the next case starts a new one
        finally:
            for worker in workers.values():
                worker.close()

    threads = [threading.Thread(target=drive) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return report
