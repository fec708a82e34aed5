"""The issue's targets for the call-overhead table, checked on the medians of one run."""

from __future__ import annotations

from dataclasses import dataclass

from bench.report.results import Results


@dataclass(frozen=True)
class Target:
    text: str
    row: str | None  # None: every row that has both engines
    slow: str  # the ratio is time(slow) / time(fast)
    fast: str
    at_least: float | None = None
    at_most: float | None = None

    def met_by(self, ratio: float) -> bool:
        return ((self.at_least is None or ratio >= self.at_least)
                and (self.at_most is None or ratio <= self.at_most))


TARGETS = (
    Target("nop ≤ 3× the plain Python call", "nop", "aot", "python", at_most=3),
    Target("nop ≥ 50× faster than wasmtime-py", "nop", "wasmtime", "aot", at_least=50),
    Target("i64 host ≥ 20× faster than wasmtime-py", "i64 host", "wasmtime", "aot", at_least=20),
    Target("every row faster than wasmtime-py", None, "wasmtime", "aot", at_least=1),
)


@dataclass(frozen=True)
class Outcome:
    target: Target
    ratio: float | None  # None: not measured
    row: str | None  # the row measured (for "every row": the one furthest from the target)

    @property
    def met(self) -> bool:
        return self.ratio is not None and self.target.met_by(self.ratio)


def check(results: Results) -> list[Outcome]:
    outcomes = []
    for t in TARGETS:
        rows = [r for r in results.rows if t.row is None or r.name == t.row]
        measured = [(r.ratio(t.slow, t.fast), r.name) for r in rows]
        measured = [(ratio, name) for ratio, name in measured if ratio is not None]
        if not measured:
            outcomes.append(Outcome(t, None, t.row))
            continue
        # The worst case decides: the smallest ratio for "at least", the largest for "at most".
        ratio, name = min(measured) if t.at_least is not None else max(measured)
        outcomes.append(Outcome(t, ratio, name))
    return outcomes
