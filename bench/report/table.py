"""The Markdown table (also what `python -m bench` prints) and the number formats the
chart shares with it."""

from __future__ import annotations

from bench.report.results import ENGINES, LABELS, Results
from bench.report.targets import check

DESCRIPTIONS = {
    "nop": "Python calls a wasm function that does nothing",
    "i64": "Python calls wasm, which calls a host function returning an i64 and returns it",
    "many": "the same with five i32 arguments passed to the host function (an i64 comes back)",
    "i64 host": "wasm calls the i64 host function in a loop (time per host call)",
    "many host": "wasm calls the five-argument host function in a loop (time per host call)",
    "add(i32, i32)": "Python calls a wasm `add(i32, i32) -> i32`",
    "externref": "Python passes an object to a wasm function that returns it (externref, "
                 "registered with the store's collector)",
    "externref host": "the same, the wasm function passing the object to a host function "
                      "and back",
}


def format_ns(ns: float | None) -> str:
    if ns is None:
        return "–"
    return f"{ns:,.0f}" if ns >= 100 else f"{ns:.1f}" if ns >= 10 else f"{ns:.2f}"


def format_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:.1f}×"


def markdown(results: Results) -> str:
    head = [f"{LABELS[e]} (ns)" for e in ENGINES] + ["aot vs wasmtime-py", "aot vs floor"]
    lines = [
        "Median time per call in ns (lower is better); the loop rows divide one call from"
        " Python by the number of host calls it makes.",
        "",
        "| call | " + " | ".join(head) + " |",
        "|---|" + "---:|" * len(head),
    ]
    for row in results.rows:
        faster = row.ratio("wasmtime", "aot")
        cells = [format_ns(row.ns.get(e)) for e in ENGINES] + [
            f"{format_ratio(faster)} faster" if faster is not None else "–",
            format_ratio(row.ratio("aot", "python")),
        ]
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    lines += ["", results.machine, ""]
    lines += [f"- `{r.name}`: {DESCRIPTIONS[r.name]}" for r in results.rows if r.name in DESCRIPTIONS]
    lines += ["", "Targets:", ""]
    for outcome in check(results):
        status = "met" if outcome.met else "**not met**"
        where = f" ({outcome.row})" if outcome.target.row is None and outcome.row else ""
        lines.append(f"- {status}: {outcome.target.text} — measured"
                     f" {format_ratio(outcome.ratio)}{where}")
    return "\n".join(lines) + "\n"
