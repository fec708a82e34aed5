"""The sandbox: paths under a preopened directory never reach outside it — not by `..`,
not by an absolute path, not through a symlink (final or intermediate, absolute or
relative) — and nothing outside is created, read, changed or deleted."""

from __future__ import annotations

import os

import pytest

import aot
from aot.wasi import Errno
from tests.conftest import wat
from tests.wasi_support import Harness, harness_wat, run_aot, run_wasmtime, snapshot

CALLS = ["path_open", "path_filestat_get", "path_unlink_file", "path_create_directory",
         "path_remove_directory", "path_rename", "path_symlink", "path_readlink", "path_link",
         "path_filestat_set_times", "fd_read", "fd_close"]
PRE = 3  # the preopen's descriptor
FOLLOW = 1


@pytest.fixture
def world(tmp_path):
    """tmp/box (the preopen) beside tmp/outside (with a sentinel file)."""
    box, outside = tmp_path / "box", tmp_path / "outside"
    (box / "sub" / "deeper").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("sentinel\n")
    (box / "inside.txt").write_text("inside\n")
    os.symlink("inside.txt", box / "link_in")
    os.symlink(outside / "secret.txt", box / "link_out_abs")
    os.symlink("../outside/secret.txt", box / "link_out_rel")
    os.symlink("../outside", box / "link_dir_out")
    os.symlink("../../outside", box / "sub" / "link_up_out")  # out by two levels
    os.symlink("sub/..", box / "link_self")                    # resolves to box itself
    os.symlink("loop_b", box / "loop_a")
    os.symlink("loop_a", box / "loop_b")
    return box, outside


@pytest.fixture
def h(world):
    box, _ = world
    harness = Harness(wat(harness_wat(CALLS)), aot.WasiConfig(preopens=[(box, ".")]))
    yield harness
    harness.close()


def _path(h, text: str):
    return h.put(text.encode())


ESCAPES = ["../outside/secret.txt", "sub/../../outside/secret.txt", "sub/deeper/../../..",
           "/etc/passwd", str("/" + "outside"), "link_out_abs", "link_out_rel",
           "link_dir_out/secret.txt", "link_dir_out/", "sub/link_up_out/secret.txt",
           "link_self/../outside/secret.txt", "link_self/link_dir_out/secret.txt"]


@pytest.mark.parametrize("path", ESCAPES)
def test_open_and_stat_refuse_every_escape(world, h, path):
    _, outside = world
    before = snapshot(outside.parent)
    assert h.open(PRE, path.encode(), follow=True)[0] == Errno.NOTCAPABLE
    assert h.open(PRE, path.encode(), oflags=1, follow=True)[0] == Errno.NOTCAPABLE  # creat
    out = h.alloc(64)
    assert h.path_filestat_get(PRE, FOLLOW, *_path(h, path), out) == Errno.NOTCAPABLE
    assert snapshot(outside.parent) == before


@pytest.mark.parametrize("prefix", ["link_dir_out", "../outside", "sub/link_up_out",
                                    "link_self/../outside", "{outside}"])
def test_changes_through_an_escape_are_refused_and_nothing_outside_changes(world, h, prefix):
    box, outside = world
    (outside / "emptydir").mkdir()
    prefix = prefix.format(outside=outside)  # the real place, given as an absolute path
    before = snapshot(outside)
    p = _path(h, prefix + "/secret.txt")
    assert h.path_unlink_file(PRE, *p) == Errno.NOTCAPABLE
    assert h.path_remove_directory(PRE, *_path(h, prefix + "/emptydir")) == Errno.NOTCAPABLE
    assert h.path_create_directory(PRE, *_path(h, prefix + "/new")) == Errno.NOTCAPABLE
    assert h.path_rename(PRE, *_path(h, "inside.txt"), PRE, *p) == Errno.NOTCAPABLE
    assert h.path_rename(PRE, *p, PRE, *_path(h, "stolen.txt")) == Errno.NOTCAPABLE
    assert h.path_link(PRE, 0, *p, PRE, *_path(h, "hard.txt")) == Errno.NOTCAPABLE
    assert h.path_link(PRE, 0, *_path(h, "inside.txt"), PRE, *p) == Errno.NOTCAPABLE
    assert h.path_symlink(*_path(h, "x"), PRE, *_path(h, prefix + "/new")) == Errno.NOTCAPABLE
    assert h.path_filestat_set_times(PRE, FOLLOW, *p, 1, 1, 5) == Errno.NOTCAPABLE
    assert h.open(PRE, (prefix + "/new").encode(), oflags=1 | 4)[0] == Errno.NOTCAPABLE
    assert snapshot(outside) == before
    assert sorted(os.listdir(box)) == sorted(
        ["sub", "inside.txt", "link_in", "link_out_abs", "link_out_rel", "link_dir_out",
         "link_self", "loop_a", "loop_b"])


def test_absolute_symlinks_cannot_be_made(h):
    assert h.path_symlink(*_path(h, "/etc/passwd"), PRE, *_path(h, "pw")) == Errno.NOTCAPABLE


def test_what_stays_inside_works(world, h):
    box, _ = world
    for path in ["inside.txt", "sub/../inside.txt", "link_in", "link_self/inside.txt",
                 "./sub/./deeper/../../inside.txt"]:
        err, fd = h.open(PRE, path.encode(), rights=2)  # fd_read
        assert err == 0, path
        iov, buf, n = h.alloc(8), h.alloc(64), h.alloc(4)
        h.memory.write(iov, buf.to_bytes(4, "little") + (64).to_bytes(4, "little"))
        assert h.fd_read(fd, iov, 1, n) == 0 and h.memory.read(buf, h.u32(n)) == b"inside\n"
        assert h.fd_close(fd) == 0
    # The link itself (not followed) may be looked at, read and removed: it stays inside.
    out = h.alloc(64)
    assert h.path_filestat_get(PRE, 0, *_path(h, "link_out_abs"), out) == 0
    assert h.memory.read(out + 16, 1)[0] == 7  # filetype symbolic_link
    buf, n = h.alloc(256), h.alloc(4)
    assert h.path_readlink(PRE, *_path(h, "link_out_rel"), buf, 256, n) == 0
    assert h.memory.read(buf, h.u32(n)) == b"../outside/secret.txt"
    assert h.path_unlink_file(PRE, *_path(h, "link_out_rel")) == 0
    assert not os.path.lexists(box / "link_out_rel")
    # Opening a symlink without following it is ELOOP, as with O_NOFOLLOW.
    assert h.open(PRE, b"link_in", follow=False)[0] == Errno.LOOP


def test_symlink_loops_end_with_eloop(h):
    assert h.open(PRE, b"loop_a")[0] == Errno.LOOP
    assert h.open(PRE, b"loop_a/x", oflags=1)[0] == Errno.LOOP


def test_a_directory_descriptor_is_its_own_root(world, h):
    """A directory opened under the preopen confines paths the same way."""
    err, sub = h.open(PRE, b"sub", oflags=2)  # directory
    assert err == 0
    assert h.open(sub, b"../inside.txt")[0] == Errno.NOTCAPABLE
    assert h.open(sub, b"deeper/..", oflags=2)[0] == 0  # sub itself


def test_escape_program_agrees_with_wasmtime(world, tmp_path):
    """examples/wasi/escape.c tries the same through raw WASI calls from C; wasmtime
    refuses with EPERM where aot says ENOTCAPABLE (the program prints both as "refused")."""
    box, outside = world
    before = snapshot(outside)
    mine = run_aot("escape", preopen=box)
    lines = mine.stdout.decode().splitlines()
    allowed = ("open inside.txt:", "open sub/../inside.txt:", "open link_in (follow):",
               "stat link_out_abs (nofollow):", "unlink link_out_rel (the link itself):")
    attempts = [ln for ln in lines if not ln.startswith(allowed)]
    assert len(attempts) == 16 and all(ln.endswith(": refused") for ln in attempts), lines
    assert all(ln.endswith(": ok") for ln in lines if ln not in attempts)
    assert snapshot(outside) == before
    os.symlink("../outside/secret.txt", box / "link_out_rel")  # the program removed it
    pytest.importorskip("wasmtime")
    theirs = run_wasmtime("escape", tmp_path / "escape.out", preopen=box)
    assert theirs.stdout == mine.stdout and theirs.code == mine.code == 0
    assert snapshot(outside) == before
