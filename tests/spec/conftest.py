"""Run-wide plumbing of the spec tests: one run id shared by xdist workers (so their
results land in one report) and the summary table at the end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import report
from .engine import engine_name

_RUN_ID = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller's id
        config.stash[_RUN_ID] = workerinput["testrunuid"]
        return
    run_id = getattr(config.option, "testrunuid", None) or uuid.uuid4().hex
    if hasattr(config.option, "testrunuid"):
        config.option.testrunuid = run_id  # xdist hands it to every worker
    config.stash[_RUN_ID] = run_id


@dataclass(frozen=True)
class SpecReport:
    path: Path
    run_id: str
    engine: str

    def record(self, script: str, opt_level: int, result: dict[str, Any]) -> None:
        report.record(self.path, self.run_id, self.engine, script, opt_level, result)


@pytest.fixture(scope="session")
def spec_report(pytestconfig: pytest.Config) -> SpecReport:
    return SpecReport(report.report_path(), pytestconfig.stash[_RUN_ID], engine_name())


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or _RUN_ID not in config.stash:
        return
    path = report.report_path()
    data = report.load(path)
    if not data or data.get("run_id") != config.stash[_RUN_ID]:
        return  # no spec test ran in this session
    terminalreporter.section("wasm spec tests")
    for line in report.summary_lines(data, path):
        terminalreporter.write_line(line)
