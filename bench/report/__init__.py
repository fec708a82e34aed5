"""The call-overhead report: pytest-benchmark's JSON in, a Markdown table and a PNG chart
out (the chart by matplotlib, the `bench` extra).

    results = load("bench/results/call_overhead.json")
    markdown(results)                      # the table, with the targets checked
    chart(results).savefig("call_overhead.png")
"""

from bench.report.chart import chart
from bench.report.results import Results, Row, from_json, load
from bench.report.table import markdown

__all__ = ["Results", "Row", "chart", "from_json", "load", "markdown"]
