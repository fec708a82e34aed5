"""The grouped bar chart: one group per row of the table, one bar per engine, a log time
axis (the engines differ by orders of magnitude), values above the bars."""

from __future__ import annotations

import math

from bench.report import font
from bench.report.canvas import Canvas
from bench.report.results import ENGINES, LABELS, Results
from bench.report.table import format_ns, format_ratio

COLORS = {"aot": (31, 119, 180), "wasmtime": (255, 127, 14), "python": (140, 140, 140)}
INK, AXIS, GRID, MINOR = (30, 30, 30), (90, 90, 90), (215, 215, 215), (240, 240, 240)

LEFT, RIGHT, TOP, BOTTOM = 100, 30, 110, 80  # margins around the plot, in pixels
GROUP_WIDTH, PLOT_HEIGHT = 170, 380
BIG = 2  # scale of titles, legend and labels; values above bars use scale 1


def chart(results: Results) -> Canvas:
    rows = results.rows
    width = LEFT + RIGHT + GROUP_WIDTH * max(len(rows), 1)
    canvas = Canvas(width, TOP + PLOT_HEIGHT + BOTTOM)
    canvas.text(LEFT, 14, "Call overhead: median time per call (log scale, lower is better)",
                INK, BIG)
    canvas.text(LEFT, 38, results.machine, AXIS)
    _legend(canvas, LEFT, 62)

    values = [v for r in rows for v in r.ns.values() if v and v > 0]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 1.0
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 1000.0
    hi = max(hi, lo * 10)
    bottom = TOP + PLOT_HEIGHT

    def y_of(ns: float) -> int:
        return round(bottom - math.log10(ns / lo) / math.log10(hi / lo) * PLOT_HEIGHT)

    _grid(canvas, lo, hi, y_of, width)
    bar = int(GROUP_WIDTH * 0.75) // len(ENGINES)
    for i, row in enumerate(rows):
        center = LEFT + i * GROUP_WIDTH + GROUP_WIDTH // 2
        x = center - bar * len(ENGINES) // 2
        for engine in ENGINES:
            ns = row.ns.get(engine)
            if ns and ns > 0:
                top = y_of(ns)
                canvas.rect(x + 1, top, x + bar - 1, bottom, COLORS[engine])
                canvas.text(x + bar // 2, top - 10, format_ns(ns), INK, align="center")
            x += bar
        canvas.text(center, bottom + 10, row.name, INK, BIG, align="center")
        faster = row.ratio("wasmtime", "aot")
        if faster is not None:
            canvas.text(center, bottom + 34, f"aot {format_ratio(faster)} faster than",
                        COLORS["aot"], align="center")
            canvas.text(center, bottom + 46, "wasmtime-py", COLORS["aot"], align="center")
    canvas.rect(LEFT, TOP, LEFT + 1, bottom + 1, AXIS)  # axes drawn last, over the bars
    canvas.rect(LEFT, bottom, width - RIGHT, bottom + 1, AXIS)
    return canvas


def _legend(canvas: Canvas, x: int, y: int) -> None:
    for engine in ENGINES:
        canvas.rect(x, y, x + 14, y + 14, COLORS[engine])
        label = LABELS[engine]
        canvas.text(x + 22, y, label, INK, BIG)
        x += 22 + font.text_width(label, BIG) + 30


def _grid(canvas: Canvas, lo: float, hi: float, y_of, width: int) -> None:
    decade = lo
    while decade <= hi * 1.0001:
        for minor in (2, 5):
            if decade * minor < hi:
                y = y_of(decade * minor)
                canvas.rect(LEFT, y, width - RIGHT, y + 1, MINOR)
        y = y_of(decade)
        canvas.rect(LEFT, y, width - RIGHT, y + 1, GRID)
        canvas.text(LEFT - 10, y - 7, _time_label(decade), INK, BIG, align="right")
        decade *= 10


def _time_label(ns: float) -> str:
    for unit, size in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= size:
            return f"{ns / size:g} {unit}"
    return f"{ns:g} ns"
