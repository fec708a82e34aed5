"""The call-overhead report (bench/report, `python -m bench --from-json`) on a synthetic
pytest-benchmark JSON: table rows, targets, and a PNG that decodes.  No benchmarking."""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

# bench/ is not installed: found from the checkout under `python -m pytest` (./dev.sh),
# and through this line under a bare `pytest`.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import main  # noqa: E402
from bench.report import chart, from_json, markdown  # noqa: E402

SIGNATURE = b"\x89PNG\r\n\x1a\n"

# group -> engine -> median seconds per round, and calls per round
MEDIANS = {
    "add(i32, i32)": ({"aot": 90e-9, "wasmtime": 3000e-9, "python": 50e-9}, 1),
    "nop": ({"aot": 80e-9, "wasmtime": 5000e-9, "python": 40e-9}, 1),
    "i64": ({"aot": 150e-9, "wasmtime": 6000e-9, "python": 70e-9}, 1),
    "many": ({"aot": 200e-9, "wasmtime": 9000e-9, "python": 100e-9}, 1),
    "i64 host": ({"aot": 100e-6, "wasmtime": 1500e-6, "python": 50e-6}, 1000),
    "many host": ({"aot": 150e-6, "wasmtime": 1200e-6, "python": 90e-6}, 1000),
}


def synthetic() -> dict:
    benchmarks = []
    for group, (medians, per) in MEDIANS.items():
        for engine, median in medians.items():
            benchmarks.append({
                "group": group, "name": f"test_x[{engine}]", "params": {"engine": engine},
                "extra_info": {"calls_per_round": per} if per != 1 else {},
                "stats": {"median": median, "min": median, "mean": median},
            })
    return {
        "machine_info": {"python_implementation": "CPython", "python_version": "3.11.7",
                         "cpu": {"brand_raw": "Test CPU"}, "aot_version": "0.1.0",
                         "wasmtime_version": "50.0.1"},
        "datetime": "2025-01-02T03:04:05.678+00:00", "version": "5.3.1",
        "benchmarks": benchmarks,
    }


def table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("| ")]


def test_markdown_rows_in_order_per_call():
    text = markdown(from_json(synthetic()))
    header, *rows = table_rows(text)
    assert header == ["call", "aot (ns)", "wasmtime-py (ns)", "Python floor (ns)",
                      "aot vs wasmtime-py", "aot vs floor"]
    assert rows == [
        ["nop", "80.0", "5,000", "40.0", "62.5× faster", "2.0×"],
        ["i64", "150", "6,000", "70.0", "40.0× faster", "2.1×"],
        ["many", "200", "9,000", "100", "45.0× faster", "2.0×"],
        ["i64 host", "100", "1,500", "50.0", "15.0× faster", "2.0×"],  # divided by 1000
        ["many host", "150", "1,200", "90.0", "8.0× faster", "1.7×"],
        ["add(i32, i32)", "90.0", "3,000", "50.0", "33.3× faster", "1.8×"],
    ]
    assert "Test CPU, CPython 3.11.7, aot 0.1.0, wasmtime-py 50.0.1, pytest-benchmark 5.3.1, " \
           "2025-01-02 03:04 UTC" in text


def test_targets():
    lines = [line for line in markdown(from_json(synthetic())).splitlines() if "measured" in line]
    assert lines == [
        "- met: nop ≤ 3× the plain Python call — measured 2.0×",
        "- met: nop ≥ 50× faster than wasmtime-py — measured 62.5×",
        "- **not met**: i64 host ≥ 20× faster than wasmtime-py — measured 15.0×",
        "- met: every row faster than wasmtime-py — measured 8.0× (many host)",
    ]


def test_missing_engine_renders_a_dash():
    data = synthetic()
    data["benchmarks"] = [b for b in data["benchmarks"]
                          if not (b["group"] == "nop" and b["params"]["engine"] == "wasmtime")]
    results = from_json(data)
    assert table_rows(markdown(results))[1] == ["nop", "80.0", "–", "40.0", "–", "2.0×"]
    assert _png(chart(results))[:8] == SIGNATURE  # draws the other two bars


def read_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the decompressed image data, checking every chunk's CRC."""
    assert data[:8] == SIGNATURE
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body), tag
        chunks[tag] = chunks.get(tag, b"") + body
        pos += 12 + length
    assert list(chunks)[0] == b"IHDR" and list(chunks)[-1] == b"IEND"
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and color in (2, 6)  # 8-bit RGB or RGBA
    return width, height, zlib.decompress(chunks[b"IDAT"])


def _png(figure) -> bytes:
    import io

    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def test_chart_png_decodes():
    """matplotlib draws it: a valid PNG whose pixels include aot's bar colour."""
    png = _png(chart(from_json(synthetic())))
    width, height, raw = read_png(png)
    assert width > 400 and height > 300
    import io

    import matplotlib.image
    pixels = (matplotlib.image.imread(io.BytesIO(png))[:, :, :3] * 255).round().astype(int)
    assert ((pixels == (31, 119, 180)).all(axis=2)).any()  # the aot bars were drawn


def test_from_json_command(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(synthetic()))
    main(["--from-json", str(path), "--out", str(tmp_path / "out")])
    assert "| nop | 80.0 |" in capsys.readouterr().out
    assert (tmp_path / "out" / "call_overhead.md").read_text().count("\n| ") == 7
    assert read_png((tmp_path / "out" / "call_overhead.png").read_bytes())[0] > 0
