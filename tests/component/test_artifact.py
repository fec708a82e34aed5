"""A compiled component in one file: `aot compile comp.wasm -o comp.so` (and
`Component.serialize()`), loaded by `aot.load`, `Component(path)` and `aot run` without
compiling, refused with ArtifactError when damaged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

import aot
from aot.component import Component, Linker
from tests.component.test_runtime import SHOUT

COMMAND = Path(__file__).parent / "programs" / "command.wasm"


def _greeter(component: Component) -> tuple:
    logged: list[str] = []
    linker = Linker()
    linker.root().func_wrap("log", logged.append)
    return linker.instantiate(component), logged


def test_aot_compile_writes_one_artifact_that_loads_without_compiling(tmp_path, monkeypatch):
    src = tmp_path / "shout.wasm"
    src.write_bytes(wasmtime.wat2wasm(SHOUT))
    out = tmp_path / "shout.so"
    done = subprocess.run([sys.executable, "-m", "aot", "compile", str(src), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:4] == b"\x7fELF"

    import aot.compiler
    monkeypatch.setattr(aot.compiler, "compile_artifact",
                        lambda *a, **k: pytest.fail("loading compiled something"))
    component = aot.load(out)
    assert isinstance(component, Component)
    instance, logged = _greeter(component)
    assert instance["shout"]("abc") == "ABC" and logged == ["abc"]
    assert _greeter(Component(out))[0]["add"](2, 3) == 5


def test_serialize_round_trips_and_damage_is_refused():
    component = Component(wasmtime.wat2wasm(SHOUT), cache=False)
    data = component.serialize()
    again = Component(data)
    assert again.serialize() == data
    assert _greeter(again)[0]["add"](20, 22) == 42
    damaged = bytearray(data)
    core_at = data.find(b"\x7fELF", 64)  # the first core artifact inside
    damaged[core_at + 4096] ^= 0xFF
    with pytest.raises(aot.ArtifactError):
        Component(bytes(damaged))


@pytest.mark.skipif(not COMMAND.exists(), reason="tests/component/programs/command.wasm is missing")
def test_aot_run_runs_a_compiled_command_component(tmp_path):
    out = tmp_path / "command.so"
    subprocess.run([sys.executable, "-m", "aot", "compile", str(COMMAND), "-o", str(out)],
                   check=True, capture_output=True, timeout=300)
    done = subprocess.run([sys.executable, "-m", "aot", "run", str(out), "x", "y"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "argv[1]=x" in done.stdout and "argv[2]=y" in done.stdout
