"""aot maps artifacts itself (`aot.loader.mapping`): the segments with their protections,
the vtable found through its note, unmapped when the artifact goes; `AOT_LOADER=dlopen`
gives the same memory through the dynamic loader; a file laid out otherwise is refused."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys

import pytest

import aot
from aot.abi.artifact import NT_AOT_VTABLE
from aot.errors import ArtifactError
from aot.loader.mapping import PAGE_SIZE, read_layout
from tests.conftest import wat

MODULE = """(module
  (memory (export "mem") 1)
  (data (i32.const 16) "hello")
  (func $f (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.load8_u (i32.const 16))))
  (func (export "trap") unreachable))"""


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("mapping") / "m.so"
    aot.compile_file(wat(MODULE), path)
    return path


def _mappings_of(path) -> list[str]:
    real = os.path.realpath(path)
    with open("/proc/self/maps") as f:
        return [line.split()[1] for line in f if line.rstrip().endswith(real)]


def test_segments_are_mapped_with_their_protections_and_unmapped_with_the_artifact(
        artifact, tmp_path):
    # The first guard-mode artifact of a process provides the fault handler and stays
    # mapped for good (`aot.loader.signals`): let another one be that.
    keeper = tmp_path / "keeper.so"
    shutil.copy2(artifact, keeper)
    aot.load(keeper)
    inst = aot.load(artifact).instantiate()
    assert inst.exports.f(1) == 1 + ord("h")
    perms = _mappings_of(artifact)
    assert "r-xp" in perms and not any("w" in p and "x" in p for p in perms), perms
    del inst
    gc.collect()
    assert _mappings_of(artifact) == []  # nothing left behind, unlike a dlopen'ed object


def test_loads_again_after_the_file_is_replaced(artifact, tmp_path):
    """Each load maps the file behind the path now (no loader cache keyed by name)."""
    path = tmp_path / "m.so"
    aot.compile_file(wat(MODULE), path)
    first = aot.load(path).instantiate()
    aot.compile_file(wat(MODULE.replace('"hello"', '"Hello"')), path)
    assert aot.load(path).instantiate().exports.f(0) == ord("H")
    assert first.exports.f(0) == ord("h")


def test_dlopen_mode_gives_the_same_results(artifact):
    code = ("import aot, sys; i = aot.load(sys.argv[1]).instantiate(); print(i.exports.f(2))\n"
            "print(i.exports.mem.read(16, 5))\n"
            "try:\n    i.exports.trap()\nexcept aot.Trap as t:\n    print(repr(t), t.frames)\n")
    outs = {}
    for mode in ("", "dlopen"):
        proc = subprocess.run([sys.executable, "-c", code, str(artifact)], capture_output=True,
                              text=True, env={**os.environ, "AOT_LOADER": mode})
        assert proc.returncode == 0, proc.stderr
        outs[mode] = proc.stdout.splitlines()
    assert outs[""] == outs["dlopen"]
    assert outs[""][:2] == [str(2 + ord("h")), "b'hello'"]
    assert "unreachable" in outs[""][2]


def _head(path) -> bytes:
    return path.read_bytes()[:1024]


def test_the_vtable_note_is_among_the_first_bytes(artifact):
    head = _head(artifact)
    assert len(head) <= 1024
    layout = read_layout("m.so", head, artifact.stat().st_size)
    assert layout.size % PAGE_SIZE == 0 and 0 < layout.vtable < layout.size
    # R, RX, RW: the RELRO segment holds only .dynamic, which no one reads without a
    # dynamic loader, so it is not mapped.
    assert [s[0] for s in layout.segments] == [1, 5, 3]


def test_a_file_without_the_note_is_refused(artifact):
    head = bytearray(_head(artifact))
    at = head.index(b"aot\0") - 12  # the note header before its name
    head[at + 8:at + 12] = (NT_AOT_VTABLE + 1).to_bytes(4, "little")
    with pytest.raises(ArtifactError, match="not laid out for aot's loader .no vtable note"):
        read_layout("m.so", bytes(head), artifact.stat().st_size)


def test_a_segment_off_its_page_congruence_is_refused(artifact):
    head = bytearray(_head(artifact))
    phoff = int.from_bytes(head[32:40], "little")
    second = phoff + 56  # the RX segment: move its file offset off the page congruence
    offset = int.from_bytes(head[second + 8:second + 16], "little")
    head[second + 8:second + 16] = (offset + 8).to_bytes(8, "little")
    with pytest.raises(ArtifactError, match="segment 1 is not page-congruent"):
        read_layout("m.so", bytes(head), artifact.stat().st_size)


def test_a_short_head_asks_for_the_bytes_the_headers_need(artifact):
    """The loader reads the first KiB; headers or notes beyond it are asked for."""
    from aot.loader.mapping import NeedMoreBytes

    head = _head(artifact)
    phoff = int.from_bytes(head[32:40], "little")
    phnum = int.from_bytes(head[56:58], "little")
    with pytest.raises(NeedMoreBytes) as more:
        read_layout("m.so", head[:phoff + 8], artifact.stat().st_size)
    assert more.value.size == phoff + 56 * phnum
    note_end = head.index(b"aot\0") + 4 + 8  # name, then the i64 descriptor
    with pytest.raises(NeedMoreBytes) as more:
        read_layout("m.so", head[:note_end - 1], artifact.stat().st_size)
    assert more.value.size == note_end
    assert read_layout("m.so", head[:note_end], artifact.stat().st_size).vtable > 0


def test_gnu_ld_layout_keeps_bss_after_the_relro_span_writable(tmp_path, monkeypatch):
    """GNU ld puts .dynamic (the RELRO span) and .bss in one RW segment: only the span's
    whole pages become read-only (dropped here: .dynamic alone), .bss stays writable."""
    import aot.codegen.link as link

    if not shutil.which("ld.bfd"):
        pytest.skip("GNU ld (ld.bfd) is not on PATH")
    monkeypatch.setattr(link, "LINKER_CANDIDATES", ("ld.bfd",))
    monkeypatch.setenv("AOT_LINKER", "system")
    path = tmp_path / "gnu.so"
    aot.compile_file(wat(MODULE), path)
    monkeypatch.delenv("AOT_LINKER")
    head = path.read_bytes()
    layout = read_layout("gnu.so", head, len(head))
    # R, RX, R, then the .bss pages (RW): the .dynamic page before them is not mapped.
    assert [s[0] for s in layout.segments][-1] == 3 and layout.segments[-1][2] % PAGE_SIZE == 0
    assert aot.load(path).instantiate().exports.f(1) == 1 + ord("h")
