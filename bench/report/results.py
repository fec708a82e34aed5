"""Read pytest-benchmark's JSON into rows: one per benchmark group, the median time per
call of each engine (loop rows divided by their `calls_per_round`), in nanoseconds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ENGINES = ("aot", "wasmtime", "python")
LABELS = {"aot": "aot", "wasmtime": "wasmtime-py", "python": "Python floor"}
# The table's order; groups not listed here follow in the order they were run.
ORDER = ("nop", "i64", "many", "i64 host", "many host", "add(i32, i32)", "externref",
         "externref host")


@dataclass
class Row:
    name: str
    ns: dict[str, float] = field(default_factory=dict)  # engine -> median ns per call

    def ratio(self, slow: str, fast: str) -> float | None:
        """How many times `fast`'s time goes into `slow`'s, when both were measured."""
        if self.ns.get(slow) is None or not self.ns.get(fast):
            return None
        return self.ns[slow] / self.ns[fast]


@dataclass
class Results:
    rows: list[Row]
    machine: str  # one line: CPU, Python, versions, commit, date


def load(path: str | Path) -> Results:
    return from_json(json.loads(Path(path).read_text()))


def from_json(data: dict) -> Results:
    rows: dict[str, Row] = {}
    for bench in data["benchmarks"]:
        group = bench.get("group") or bench["name"]
        engine = (bench.get("params") or {}).get("engine") or _param_id(bench["name"])
        per = (bench.get("extra_info") or {}).get("calls_per_round", 1)
        rows.setdefault(group, Row(group)).ns[engine] = bench["stats"]["median"] / per * 1e9
    ordered = sorted(rows.values(),
                     key=lambda r: ORDER.index(r.name) if r.name in ORDER else len(ORDER))
    return Results(ordered, _machine_line(data))


def _param_id(name: str) -> str:
    return name.rsplit("[", 1)[-1].rstrip("]") if "[" in name else name


def _machine_line(data: dict) -> str:
    info = data.get("machine_info") or {}
    cpu = (info.get("cpu") or {}).get("brand_raw") or info.get("processor") or info.get("machine")
    parts = [
        cpu,
        f"{info['python_implementation']} {info['python_version']}"
        if "python_version" in info else None,
        f"aot {info['aot_version']}" if "aot_version" in info else None,
        f"wasmtime-py {info['wasmtime_version']}" if "wasmtime_version" in info else None,
        f"pytest-benchmark {data['version']}" if "version" in data else None,
        _commit(data.get("commit_info") or {}),
        data.get("datetime", "")[:16].replace("T", " ") + " UTC" if data.get("datetime") else None,
    ]
    return ", ".join(p for p in parts if p)


def _commit(info: dict) -> str | None:
    if not info.get("id") or info["id"] == "unversioned":
        return None
    return f"commit {info['id'][:10]}" + (" with local changes" if info.get("dirty") else "")
