"""The grouped bar chart, drawn by matplotlib: one group per row of the table, one bar per
engine, a log time axis (the engines differ by orders of magnitude), values above the
bars and aot's ratio to wasmtime-py under each group."""

from __future__ import annotations

from bench.report.results import ENGINES, LABELS, Results
from bench.report.table import format_ns, format_ratio

COLORS = {"aot": "#1f77b4", "wasmtime": "#ff7f0e", "python": "#8c8c8c"}


def chart(results: Results):
    """A matplotlib Figure (`.savefig(path)`); matplotlib is the `bench` extra."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display here
    from matplotlib import pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = results.rows
    fig, ax = plt.subplots(figsize=(1.9 * max(len(rows), 3) + 1.5, 5.2), dpi=100)
    width = 0.8 / len(ENGINES)
    for k, engine in enumerate(ENGINES):
        xs = [i + (k - (len(ENGINES) - 1) / 2) * width for i, r in enumerate(rows) if r.ns.get(engine)]
        ns = [r.ns[engine] for r in rows if r.ns.get(engine)]
        bars = ax.bar(xs, ns, width, color=COLORS[engine], label=LABELS[engine])
        ax.bar_label(bars, labels=[format_ns(v) for v in ns], fontsize=7, padding=2)
    labels = []
    for row in rows:
        faster = row.ratio("wasmtime", "aot")
        labels.append(row.name if faster is None
                      else f"{row.name}\naot {format_ratio(faster)} faster\nthan wasmtime-py")
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda ns, _: _time_label(ns)))
    ax.grid(axis="y", which="both", color="#e6e6e6")
    ax.set_axisbelow(True)
    ax.set_ylabel("median time per call")
    ax.set_title("Call overhead: median time per call (log scale, lower is better)\n"
                 + results.machine, fontsize=9)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _time_label(ns: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:g} {unit}"
    return f"{ns:g} ns"
