"""The shared cache of a build fleet (issue 16): a real `redis-server` (Debian's package;
.ci/run installs it) on a loopback port, started here and killed mid-run.  Processes with
separate local caches share compiled artifacts and codegen units through it; a damaged
entry is refused and replaced; a server that is down or stops answering costs a warning,
never a failed or hung compile."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import aot
from aot.abi.fingerprint import read_trailer
from aot.cache import Cache, CacheWarning
from tests.conftest import checked_bodies, wat

redis = pytest.importorskip("redis", reason="the redis client is a test dependency")

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, workdir: Path):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # Bounded like a fleet's cache server: eviction is Redis' own policy.
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru",
             "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(port=self.port, socket_timeout=5)
        deadline = time.monotonic() + 20
        while True:  # ready when it answers
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is missing; .ci/run installs Debian's redis-server")
        pytest.skip("redis-server is not on PATH (Debian package redis-server)")
    s = RedisServer(tmp_path)
    yield s
    s.stop()


MODULE = wat("""(module
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func (export "f") (param i32) (result i32) (i32.add (call $sq (local.get 0)) (i32.const 1))))""")

# One process of the fleet: its own local cache, the shared one, one compile.
CHILD = """
import json, sys, warnings
import aot
from aot.cache import Cache
warnings.simplefilter("error", aot.cache.CacheWarning)
cache = Cache(sys.argv[2])
module = aot.compile(open(sys.argv[1], "rb").read(), opt_level=0, codegen_units=2, cache=cache)
print(json.dumps({"result": module.instantiate().exports.f(7), "stats": cache.stats,
                  "remote": cache.remote.stats}))
"""


def _child(tmp_path: Path, url: str, local: str) -> dict:
    src = tmp_path / "m.wasm"
    src.write_bytes(MODULE)
    env = {**os.environ, "AOT_CACHE_URL": url}
    out = subprocess.run([sys.executable, "-c", CHILD, str(src), str(tmp_path / local)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_second_process_gets_what_the_first_compiled(server, tmp_path):
    first = _child(tmp_path, server.url, "a")
    assert first["result"] == 50 and first["stats"] == {"builds": 1}
    assert first["remote"]["puts"] == 4  # the artifact, its two codegen units, the mark
    second = _child(tmp_path, server.url, "b")  # another machine: an empty local cache
    assert second["result"] == 50
    assert second["stats"] == {"remote_hits": 1}  # no compile
    assert second["remote"] == {"hits": 1}


def test_aot_compile_takes_codegen_units_from_the_shared_cache(server, tmp_path, capsys):
    from aot.cli import main

    src = tmp_path / "m.wasm"
    src.write_bytes(MODULE)
    args = ["compile", str(src), "-O0", "--codegen-units", "2", "--time", "-q"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AOT_CACHE_URL", server.url)
        for local in ("a", "b"):
            mp.setenv("AOT_CACHE_DIR", str(tmp_path / local))
            assert main([*args, "-o", str(tmp_path / f"{local}.so")]) == 0
    err = capsys.readouterr().err
    assert "2 from the cache" in err  # the second, whose local cache was empty
    assert (tmp_path / "a.so").read_bytes() == (tmp_path / "b.so").read_bytes()


def test_a_rebuild_on_another_machine_checks_only_the_edited_body(server, tmp_path, monkeypatch):
    """The mark a compile leaves (its module environment, its bodies' facts) is shared
    too: another machine's rebuild decodes and validates only the body that changed."""
    from aot.codegen import CompileOptions, units
    from aot.compiler import compile_artifact

    monkeypatch.setenv("AOT_CACHE_URL", server.url)
    monkeypatch.setattr(units, "SINGLE_UNIT_BYTES", 0)  # a unit per function, small as it is
    options = CompileOptions(opt_level=0)
    compile_artifact(MODULE, options, jobs=1, cache=Cache(tmp_path / "a"))
    checked = checked_bodies(monkeypatch)
    edited = MODULE.replace(b"\x41\x01\x6a", b"\x41\x02\x6a")  # i32.const 1; i32.add
    assert edited != MODULE
    rebuilt = compile_artifact(edited, options, jobs=1, cache=Cache(tmp_path / "b"))
    assert checked == [1]
    monkeypatch.delenv("AOT_CACHE_URL")
    assert rebuilt == compile_artifact(edited, options, jobs=1)


def test_a_damaged_remote_entry_is_refused_and_replaced(server, tmp_path):
    _child(tmp_path, server.url, "a")
    [name] = server.client.keys("aot:artifact:*")
    good = server.client.get(name)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    server.client.set(name, bytes(bad))
    cache = Cache(tmp_path / "b", remote=server.url)
    with pytest.warns(CacheWarning, match="damaged .*checksum mismatch"):
        module = aot.compile(MODULE, opt_level=0, codegen_units=2, cache=cache)
    assert module.instantiate().exports.f(3) == 10
    assert cache.stats == {"builds": 1} and cache.remote.stats["refused"] == 1
    replaced = server.client.get(name)
    assert replaced == good and read_trailer(replaced)  # intact again


def test_compiles_go_on_locally_when_the_server_dies(server, tmp_path):
    cache = Cache(tmp_path / "local", remote=server.url)
    assert aot.compile(MODULE, opt_level=0, cache=cache).instantiate().exports.f(2) == 5
    assert cache.remote.stats["puts"] == 1
    server.stop()  # killed mid-run
    other = MODULE.replace(b"\x41\x01", b"\x41\x02")  # (i32.const 2): another module
    with pytest.warns(CacheWarning, match="not answering"):
        module = aot.compile(other, opt_level=0, cache=cache)
    assert module.instantiate().exports.f(2) == 6
    assert cache.stats == {"builds": 2} and cache.remote.stats["errors"] == 1
    # Later compiles leave the server alone for a while instead of waiting on it again.
    aot.compile(other.replace(b"\x41\x02", b"\x41\x03"), opt_level=0, cache=cache)
    assert cache.remote.stats["errors"] == 1 and cache.stats["builds"] == 3


def test_a_server_that_stops_answering_costs_a_timeout_not_a_hang(server, tmp_path):
    cache = Cache(tmp_path / "local", remote=server.url)
    assert cache.remote.ping()
    os.kill(server.proc.pid, signal.SIGSTOP)  # connected, listening, silent
    try:
        with pytest.warns(CacheWarning, match="not answering"):
            module = aot.compile(MODULE, opt_level=0, cache=cache)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    assert module.instantiate().exports.f(4) == 17
    assert cache.stats == {"builds": 1} and cache.remote.stats["errors"] == 1


def test_a_url_that_is_not_a_redis_server_is_refused_by_name(tmp_path):
    with pytest.raises(aot.AotError, match="not supported: a shared cache at 'http://"):
        Cache(tmp_path, remote="http://cache.example/")


def test_aot_compile_says_in_one_line_that_the_server_is_down(tmp_path, capsys):
    from aot.cli import main

    src = tmp_path / "m.wasm"
    src.write_bytes(MODULE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AOT_CACHE_URL", f"redis://127.0.0.1:{_free_port()}/0")  # nobody there
        mp.setenv("AOT_CACHE_DIR", str(tmp_path / "cache"))
        assert main(["compile", str(src), "-O0", "--codegen-units", "2",
                     "-o", str(tmp_path / "m.so")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("aot: warning: the shared cache redis://127.0.0.1:")
    assert "not answering" in err and err.count("\n") == 1
    assert aot.load(tmp_path / "m.so").instantiate().exports.f(5) == 26
