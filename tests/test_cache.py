"""The content-addressed cache: hits, concurrent writers, damaged entries, pruning."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import aot
from aot.cache import Cache
from tests.conftest import wat

ROOT = Path(__file__).resolve().parent.parent
MODULE = '(module (func (export "f") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))'


def test_second_compile_is_a_cache_hit(tmp_path):
    wasm = wat(MODULE)
    m1 = aot.compile(wasm, cache=tmp_path)
    entries = list(Cache(tmp_path).entries())
    assert len(entries) == 1
    m2 = aot.compile(wasm, cache=tmp_path)
    assert m1.path == m2.path == str(entries[0].path)
    assert m2.instantiate().exports.f(5) == 15
    aot.compile(wasm, cache=tmp_path, opt_level=0)  # another option: another entry
    assert len(list(Cache(tmp_path).entries())) == 2


def test_eight_processes_compiling_one_key_leave_one_valid_entry(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import aot, wasmtime
        m = aot.compile(wasmtime.wat2wasm({MODULE!r}), cache={str(tmp_path)!r})
        print(m.instantiate().exports.f(14))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8
    assert outputs == ["42"] * 8
    entries = list(Cache(tmp_path).entries())
    assert len(entries) == 1
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"
    assert aot.load(entries[0].path).instantiate().exports.f(1) == 3


def test_a_corrupted_entry_is_discarded_and_rebuilt(tmp_path):
    wasm = wat(MODULE)
    aot.compile(wasm, cache=tmp_path)
    (entry,) = Cache(tmp_path).entries()
    data = bytearray(entry.path.read_bytes())
    data[len(data) // 3] ^= 0x40
    entry.path.write_bytes(bytes(data))
    module = aot.compile(wasm, cache=tmp_path)
    assert module.instantiate().exports.f(2) == 6
    (rebuilt,) = Cache(tmp_path).entries()
    assert rebuilt.path.read_bytes() != bytes(data)
    aot.load(rebuilt.path)  # intact again


def test_prune_keeps_the_size_bound_least_recently_used_first(tmp_path):
    cache = Cache(tmp_path)
    keys = []
    for i in range(6):
        aot.compile(wat(f'(module (func (export "f") (result i32) (i32.const {i})))'), cache=cache)
        keys = [e.key for e in sorted(cache.entries(), key=lambda e: e.last_used)]
    import os
    import time

    now = time.time()
    for age, e in enumerate(sorted(cache.entries(), key=lambda e: e.key)):
        os.utime(e.path, (now - 1000 + age, now - 1000 + age))
    oldest_first = [e.key for e in sorted(cache.entries(), key=lambda e: e.last_used)]
    size = sum(e.size for e in cache.entries())
    bound = size // 2
    removed = cache.prune(bound)
    assert cache.total_size() <= bound
    assert [e.key for e in removed] == oldest_first[: len(removed)]
    assert keys  # entries existed
    cache.prune(0)
    assert list(cache.entries()) == []


def test_cache_command_line(tmp_path, capsys):
    from aot.cli import main

    aot.compile(wat(MODULE), cache=tmp_path)
    assert main(["cache", "info", "--dir", str(tmp_path)]) == 0
    assert "entries:  1" in capsys.readouterr().out
    assert main(["cache", "ls", "--dir", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["cache", "prune", "--dir", str(tmp_path), "--max-size", "0"]) == 0
    assert main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert list(Cache(tmp_path).entries()) == []
