"""WASI functions one call at a time, from wasm: results, record layouts and the errno
of each failure."""

from __future__ import annotations

import os
import struct
import time

import pytest

import aot
from aot.wasi import SIGNATURES, Errno
from aot.wasi import layout as L
from tests.conftest import wat
from tests.wasi_support import Harness, harness_wat

ALL = sorted(SIGNATURES)
PRE = 3
READ, WRITE = L.RIGHT["fd_read"], L.RIGHT["fd_write"]


@pytest.fixture
def box(tmp_path):
    (tmp_path / "box").mkdir()
    return tmp_path / "box"


@pytest.fixture
def h(box):
    harness = Harness(wat(harness_wat([n for n in ALL if n != "proc_exit"])),
                      aot.WasiConfig(args=["prog", "ärg"], env={"K": "v=1"},
                                     preopens=[(box, "/sandbox")], stdin=b"",
                                     stdout="capture", stderr="capture"))
    yield harness
    harness.close()


def _iov(h, data_or_size) -> tuple[int, int]:
    """One iovec: over `data` (written to memory) or over `size` empty bytes."""
    if isinstance(data_or_size, int):
        buf, n = h.alloc(data_or_size), data_or_size
    else:
        buf, n = h.put(data_or_size)
    iov = h.alloc(8)
    h.memory.write(iov, struct.pack("<II", buf, n))
    return iov, buf


def write(h, fd, data: bytes) -> tuple[int, int]:
    iov, _ = _iov(h, data)
    out = h.alloc(4)
    return h.fd_write(fd, iov, 1, out), h.u32(out)


def read(h, fd, size: int) -> tuple[int, bytes]:
    iov, buf = _iov(h, size)
    out = h.alloc(4)
    err = h.fd_read(fd, iov, 1, out)
    return err, h.memory.read(buf, h.u32(out)) if err == 0 else b""


# --- linking ----------------------------------------------------------------------------

def test_unsupported_and_unknown_functions_return_enosys():
    module = aot.compile(wat(harness_wat(["sock_accept", "proc_raise"], {
        "fd_frobnicate": ("i32 i64", "i32")})))
    with aot.WasiCtx() as wasi:
        e = wasi.instantiate(module).exports
        assert e.sock_accept(0, 0, 0) == Errno.NOSYS == 52
        assert e.proc_raise(6) == Errno.NOSYS
        assert e.fd_frobnicate(1, 2) == Errno.NOSYS


def test_mistyped_imports_are_link_errors():
    module = aot.compile(wat(harness_wat([], {"fd_write": ("i32 i32", "i32")})))
    with aot.WasiCtx() as wasi, pytest.raises(aot.LinkError) as info:
        wasi.instantiate(module)
    assert "wasi_snapshot_preview1::fd_write" in str(info.value)
    assert "WASI defines (func (param i32 i32 i32 i32) (result i32))" in str(info.value)
    module = aot.compile(wat(harness_wat([], {"not_wasi": ("i32", "")})))
    with aot.WasiCtx() as wasi, pytest.raises(aot.LinkError, match="not a WASI preview 1 function"):
        wasi.instantiate(module)


def test_every_preview1_function_links_and_answers_without_crashing(h):
    """Each function called with zeros (and all-ones) returns an errno, never raises."""
    for name in ALL:
        if name == "proc_exit":
            continue
        n = len(SIGNATURES[name].params)
        for value in (0, 0xFFFF_FFFF):
            args = [value if t == aot.ValType.I32 else value * (2**32 + 1)
                    for t in SIGNATURES[name].params[:n]]
            if name == "poll_oneoff" and value == 0:
                continue  # zero subscriptions: EINVAL, checked below
            err = getattr(h, name)(*args)
            assert 0 <= err <= 76, (name, value, err)


def test_memory_growth_is_seen_by_later_calls(h):
    old = h.memory.size
    h.memory.grow(2)
    high = old * 65536 + 100  # only exists after the growth
    out = h.alloc(8)
    h.memory.write(out, struct.pack("<II", high, 5))
    h.memory.write(high, b"grown")
    assert h.fd_write(1, out, 1, high + 16) == 0
    assert h.wasi.stdout == b"grown"
    assert h.fd_write(1, out, 1, (old + 2) * 65536 - 2) == Errno.FAULT  # result past the end


# --- args, environ, clocks, random --------------------------------------------------------

def test_args_and_environ(h):
    count, size = h.alloc(4), h.alloc(4)
    assert h.args_sizes_get(count, size) == 0
    assert (h.u32(count), h.u32(size)) == (2, len("prog\0ärg\0".encode()))
    argv, buf = h.alloc(8), h.alloc(h.u32(size))
    assert h.args_get(argv, buf) == 0
    assert h.memory.read(h.u32(argv + 4), len("ärg".encode()) + 1) == "ärg\0".encode()
    assert h.environ_sizes_get(count, size) == 0 and h.u32(count) == 1
    env, buf = h.alloc(4), h.alloc(h.u32(size))
    assert h.environ_get(env, buf) == 0
    assert h.memory.read(h.u32(env), h.u32(size)) == b"K=v=1\0"
    assert h.args_get(argv, 70_000_000) == Errno.FAULT


@pytest.mark.parametrize(("clock", "host"), [(0, time.time_ns), (1, time.monotonic_ns),
                                              (2, time.process_time_ns), (3, time.thread_time_ns)])
def test_clocks(h, clock, host):
    out = h.alloc(8)
    before = host()
    assert h.clock_time_get(clock, 0, out) == 0
    after = host()
    assert before <= h.u64(out) <= after
    assert h.clock_res_get(clock, out) == 0 and 0 < h.u64(out) <= 10**9


def test_unknown_clock_is_einval(h):
    assert h.clock_time_get(4, 0, h.alloc(8)) == Errno.INVAL
    assert h.clock_res_get(99, h.alloc(8)) == Errno.INVAL


def test_random_get(h):
    a, b = h.alloc(64), h.alloc(64)
    assert h.random_get(a, 64) == 0 and h.random_get(b, 64) == 0
    assert h.memory.read(a, 64) != h.memory.read(b, 64)
    assert h.random_get(65536 * 100 - 10, 64) == Errno.FAULT


def test_sched_yield(h):
    assert h.sched_yield() == 0


# --- descriptors ------------------------------------------------------------------------

def test_stdio_fdstat_and_seek(h):
    out = h.alloc(24)
    assert h.fd_fdstat_get(1, out) == 0
    filetype, flags, base, _ = L.FDSTAT.unpack(h.memory.read(out, 24))
    assert base & WRITE and not base & (L.RIGHT["fd_seek"] | L.RIGHT["fd_tell"])
    assert h.fd_seek(1, 0, 0, h.alloc(8)) == Errno.SPIPE
    assert h.fd_pwrite(1, *_iov(h, b"x")[:1], 1, 0, h.alloc(4)) == Errno.SPIPE
    assert write(h, 2, b"err")[0] == 0 and h.wasi.stderr == b"err"
    assert read(h, 0, 10) == (0, b"")  # stdin given as empty bytes: end of file


def test_bad_descriptors(h):
    assert write(h, 99, b"x")[0] == Errno.BADF
    assert h.fd_close(99) == Errno.BADF
    assert h.fd_fdstat_get(2**32 - 1, h.alloc(24)) == Errno.BADF
    assert h.fd_prestat_get(1, h.alloc(8)) == Errno.BADF  # not a preopen
    assert h.fd_renumber(1, 77) == Errno.BADF  # the target must be open


def test_prestat(h):
    out = h.alloc(8)
    assert h.fd_prestat_get(PRE, out) == 0
    assert L.PRESTAT.unpack(h.memory.read(out, 8)) == (0, len("/sandbox"))
    buf = h.alloc(16)
    assert h.fd_prestat_dir_name(PRE, buf, 8) == 0 and h.memory.read(buf, 8) == b"/sandbox"
    assert h.fd_prestat_dir_name(PRE, buf, 7) == Errno.NAMETOOLONG
    assert h.fd_prestat_get(PRE + 1, out) == Errno.BADF  # where wasi-libc's scan stops


def test_file_read_write_seek_pread_pwrite(h, box):
    err, fd = h.open(PRE, b"f.txt", oflags=L.OFLAG_CREAT, rights=READ | WRITE)
    assert err == 0 and fd == 4  # the lowest free number
    assert write(h, fd, b"hello world") == (0, 11)
    out = h.alloc(8)
    assert h.fd_tell(fd, out) == 0 and h.u64(out) == 11
    assert h.fd_seek(fd, -5, L.WHENCE_END, out) == 0 and h.u64(out) == 6
    assert read(h, fd, 100) == (0, b"world")
    assert h.fd_seek(fd, 2**64 - 1, L.WHENCE_SET, out) == Errno.INVAL  # -1
    assert h.fd_seek(fd, 0, 3, out) == Errno.INVAL
    iov, _ = _iov(h, b"J")
    assert h.fd_pwrite(fd, iov, 1, 6, out) == 0 and h.u32(out) == 1
    iov, buf = _iov(h, 5)
    assert h.fd_pread(fd, iov, 1, 6, out) == 0 and h.memory.read(buf, 5) == b"Jorld"
    assert h.fd_tell(fd, out) == 0 and h.u64(out) == 11  # untouched by pread/pwrite
    assert h.fd_filestat_set_size(fd, 5) == 0
    assert h.fd_sync(fd) == 0 and h.fd_datasync(fd) == 0
    st = h.alloc(64)
    assert h.fd_filestat_get(fd, st) == 0
    dev, ino, ftype, nlink, size, *_ = L.FILESTAT.unpack(h.memory.read(st, 64))
    host = os.stat(box / "f.txt")
    assert (dev, ino, ftype, nlink, size) == (host.st_dev, host.st_ino, L.FILETYPE_REGULAR_FILE, 1, 5)
    assert h.fd_close(fd) == 0 and h.fd_close(fd) == Errno.BADF
    assert (box / "f.txt").read_bytes() == b"hello"


def test_scatter_gather(h, box):
    (box / "g.txt").write_bytes(b"abcdefgh")
    err, fd = h.open(PRE, b"g.txt", rights=READ)
    iovs = h.alloc(16)
    a, b = h.alloc(3), h.alloc(5)
    h.memory.write(iovs, struct.pack("<IIII", a, 3, b, 5))
    out = h.alloc(4)
    assert h.fd_read(fd, iovs, 2, out) == 0 and h.u32(out) == 8
    assert h.memory.read(a, 3) + h.memory.read(b, 5) == b"abcdefgh"


def test_open_flags_and_rights(h, box):
    (box / "e.txt").write_bytes(b"12345")
    assert h.open(PRE, b"e.txt", oflags=L.OFLAG_CREAT | L.OFLAG_EXCL)[0] == Errno.EXIST
    assert h.open(PRE, b"e.txt", oflags=L.OFLAG_DIRECTORY)[0] == Errno.NOTDIR
    assert h.open(PRE, b"e.txt/")[0] == Errno.NOTDIR
    assert h.open(PRE, b"missing.txt")[0] == Errno.NOENT
    assert h.open(PRE, b"d", oflags=L.OFLAG_CREAT | L.OFLAG_DIRECTORY)[0] == Errno.INVAL
    err, ro = h.open(PRE, b"e.txt", rights=READ)
    out = h.alloc(24)
    assert h.fd_fdstat_get(ro, out) == 0
    ftype, flags, base, _ = L.FDSTAT.unpack(h.memory.read(out, 24))
    assert (ftype, flags) == (L.FILETYPE_REGULAR_FILE, 0) and base & READ and not base & WRITE
    assert write(h, ro, b"x")[0] == Errno.BADF  # the host fd is read-only
    err, ap = h.open(PRE, b"e.txt", rights=WRITE, fdflags=L.FDFLAG_APPEND)
    assert h.fd_fdstat_get(ap, out) == 0 and L.FDSTAT.unpack(h.memory.read(out, 24))[1] == 1
    assert write(h, ap, b"67") == (0, 2)
    assert (box / "e.txt").read_bytes() == b"1234567"
    assert h.fd_fdstat_set_flags(ap, 0) == 0
    assert h.fd_seek(ap, 0, L.WHENCE_SET, h.alloc(8)) == 0 and write(h, ap, b"A")[0] == 0
    assert (box / "e.txt").read_bytes() == b"A234567"
    assert h.fd_fdstat_set_flags(ap, L.FDFLAG_SYNC) == Errno.NOTSUP
    err, tr = h.open(PRE, b"e.txt", oflags=L.OFLAG_TRUNC, rights=WRITE)
    assert err == 0 and (box / "e.txt").read_bytes() == b""
    # Rights only go down.
    assert h.fd_fdstat_set_rights(ro, READ, 0) == 0
    assert h.fd_fdstat_set_rights(ro, READ | WRITE, 0) == Errno.NOTCAPABLE


def test_directories_and_renumber(h, box):
    d, name = h.put(b"dir")
    assert h.path_create_directory(PRE, d, name) == 0 and (box / "dir").is_dir()
    assert h.path_create_directory(PRE, d, name) == Errno.EXIST
    (box / "dir" / "x").write_text("x")
    assert h.path_remove_directory(PRE, d, name) == Errno.NOTEMPTY
    assert h.path_unlink_file(PRE, d, name) == Errno.ISDIR
    assert h.path_unlink_file(PRE, *h.put(b"dir/x/")) == Errno.NOTDIR
    assert h.path_rename(PRE, *h.put(b"dir/x"), PRE, *h.put(b"y")) == 0
    assert (box / "y").read_text() == "x" and not (box / "dir" / "x").exists()
    assert h.path_remove_directory(PRE, *h.put(b"y")) == Errno.NOTDIR
    assert h.path_remove_directory(PRE, d, name) == 0 and not (box / "dir").exists()
    st = h.alloc(64)
    assert h.path_filestat_get(PRE, 0, *h.put(b"y"), st) == 0
    assert L.FILESTAT.unpack(h.memory.read(st, 64))[4] == 1
    assert h.path_filestat_get(PRE, 0, *h.put(b"y/"), st) == Errno.NOTDIR
    # fd_renumber: y's descriptor takes over number 1 (stdout), closing stdout.
    err, fd = h.open(PRE, b"y", rights=READ | WRITE)
    assert h.fd_renumber(fd, 1) == 0
    assert h.fd_close(fd) == Errno.BADF
    assert write(h, 1, b"Z")[0] == 0 and (box / "y").read_text() == "Z"
    assert h.wasi.stdout == b""


def test_hard_links_symlinks_and_times(h, box):
    (box / "t.txt").write_text("t")
    assert h.path_link(PRE, 0, *h.put(b"t.txt"), PRE, *h.put(b"hard")) == 0
    assert os.stat(box / "hard").st_ino == os.stat(box / "t.txt").st_ino
    assert h.path_symlink(*h.put(b"t.txt"), PRE, *h.put(b"soft")) == 0
    assert os.readlink(box / "soft") == "t.txt"
    assert h.path_filestat_set_times(PRE, 1, *h.put(b"soft"), 10**9, 2 * 10**9,
                                     L.FST_ATIM | L.FST_MTIM) == 0
    st = os.stat(box / "t.txt")
    assert (st.st_atime_ns, st.st_mtime_ns) == (10**9, 2 * 10**9)
    assert h.path_filestat_set_times(PRE, 1, *h.put(b"t.txt"), 0, 0,
                                     L.FST_MTIM | L.FST_MTIM_NOW) == Errno.INVAL
    err, fd = h.open(PRE, b"t.txt", rights=WRITE)
    assert h.fd_filestat_set_times(fd, 0, 5 * 10**9, L.FST_MTIM) == 0
    st = os.stat(box / "t.txt")
    assert (st.st_atime_ns, st.st_mtime_ns) == (10**9, 5 * 10**9)  # atime kept


# --- fd_readdir -------------------------------------------------------------------------

def _parse_dirents(data: bytes) -> tuple[list[tuple[int, int, bytes, int]], bool]:
    """(cookie, inode, name, type) of the whole entries, and whether one was cut."""
    entries, at = [], 0
    while at + 24 <= len(data):
        d_next, ino, namlen, dtype = L.DIRENT.unpack_from(data, at)
        if at + 24 + namlen > len(data):
            return entries, True
        entries.append((d_next, ino, data[at + 24:at + 24 + namlen], dtype))
        at += 24 + namlen
    return entries, at != len(data)


def test_readdir_lists_everything_once_with_types_and_cookies(h, box):
    names = {f"file-{i:02d}-{'x' * i}".encode() for i in range(40)}
    for n in names:
        (box / n.decode()).write_bytes(b"")
    (box / "subdir").mkdir()
    os.symlink("nowhere", box / "dangling")
    buf, out = h.alloc(4096), h.alloc(4)
    for size in (4096, 200, 80):  # 80: room for one entry of the longest names (71), not two
        cookie, seen, reads = 0, [], 0
        while True:
            assert h.fd_readdir(PRE, buf, size, cookie, out) == 0
            used = h.u32(out)
            reads += 1
            entries, cut = _parse_dirents(h.memory.read(buf, used))
            seen += entries
            if used < size:
                assert not cut  # a short read means the end, with nothing cut
                break
            assert used == size  # a full buffer: filled to the last byte
            assert entries and cut  # ... with the entry after the last whole one cut
            cookie = entries[-1][0]
        got = {name: dtype for _, _, name, dtype in seen}
        assert len(seen) == len(got) == len(names) + 4
        assert got[b"."] == got[b".."] == got[b"subdir"] == L.FILETYPE_DIRECTORY
        assert got[b"dangling"] == L.FILETYPE_SYMBOLIC_LINK
        assert all(got[n] == L.FILETYPE_REGULAR_FILE for n in names)
        inodes = {name: ino for _, ino, name, _ in seen}
        assert inodes[b"subdir"] == os.stat(box / "subdir").st_ino
        assert reads > 1 or size == 4096


def test_readdir_with_a_buffer_smaller_than_one_entry(h, box):
    (box / "a-long-file-name").write_bytes(b"")
    buf, out = h.alloc(64), h.alloc(4)
    assert h.fd_readdir(PRE, buf, 10, 0, out) == 0 and h.u32(out) == 10  # cut inside a header
    assert h.fd_readdir(PRE, buf, 0, 0, out) == 0 and h.u32(out) == 0
    assert h.fd_readdir(PRE, buf, 64, 10**6, out) == 0 and h.u32(out) == 0  # past the end
    err, fd = h.open(PRE, b"a-long-file-name", rights=READ)
    assert h.fd_readdir(fd, buf, 64, 0, out) == Errno.NOTDIR


# --- poll_oneoff ------------------------------------------------------------------------

def _subscribe(h, subs: list[bytes]) -> tuple[int, int, int]:
    p = h.alloc(48 * len(subs))
    h.memory.write(p, b"".join(subs))
    return p, h.alloc(32 * len(subs)), h.alloc(4)


def _clock(userdata, clock_id, timeout, flags=0) -> bytes:
    return struct.pack("<QB7xIxxxxQQH6x", userdata, L.EVENT_CLOCK, clock_id, timeout, 0, flags)


def _fd_sub(userdata, kind, fd) -> bytes:
    return struct.pack("<QB7xI28x", userdata, kind, fd)


def _events(h, events_ptr, n):
    return [L.EVENT.unpack(h.memory.read(events_ptr + 32 * i, 32)) for i in range(n)]


def test_poll_clock_in_the_past_and_bad_clock(h):
    subs, events, n = _subscribe(h, [_clock(5, L.CLOCK_REALTIME, 1, L.SUBSCRIPTION_CLOCK_ABSTIME),
                                     _clock(6, 9, 0)])
    assert h.poll_oneoff(subs, events, 2, n) == 0
    got = sorted(e[:3] for e in _events(h, events, h.u32(n)))
    assert got == [(5, 0, L.EVENT_CLOCK), (6, Errno.INVAL, L.EVENT_CLOCK)]


def test_poll_waits_for_the_earliest_timer(h):
    subs, events, n = _subscribe(h, [_clock(1, L.CLOCK_MONOTONIC, 3_000_000),
                                     _clock(2, L.CLOCK_MONOTONIC, 10**12)])
    start = time.monotonic_ns()
    assert h.poll_oneoff(subs, events, 2, n) == 0
    assert time.monotonic_ns() - start >= 3_000_000
    assert [e[0] for e in _events(h, events, h.u32(n))] == [1]


def test_poll_fd_subscriptions(h, box):
    (box / "r.txt").write_bytes(b"0123456789")
    err, fd = h.open(PRE, b"r.txt", rights=READ)
    assert read(h, fd, 4)[1] == b"0123"
    subs, events, n = _subscribe(h, [_fd_sub(7, L.EVENT_FD_READ, fd),
                                     _fd_sub(8, L.EVENT_FD_WRITE, 55),
                                     _fd_sub(9, L.EVENT_FD_READ, 0),
                                     _clock(10, L.CLOCK_MONOTONIC, 10**12)])
    assert h.poll_oneoff(subs, events, 4, n) == 0  # returns at once: the timer is not waited for
    got = {e[0]: e for e in _events(h, events, h.u32(n))}
    assert set(got) == {7, 8, 9}
    assert got[7][1:4] == (0, L.EVENT_FD_READ, 6)  # 6 bytes left to read
    assert got[8][1] == Errno.BADF
    assert h.poll_oneoff(subs, events, 0, n) == Errno.INVAL


def test_poll_on_an_inherited_pipe_waits_with_select(box):
    r, w = os.pipe()
    try:
        harness = Harness(wat(harness_wat(["poll_oneoff"])), aot.WasiConfig(stdin=r))
        subs = [_fd_sub(1, L.EVENT_FD_READ, 0), _clock(2, L.CLOCK_MONOTONIC, 2_000_000)]
        p, events, n = _subscribe(harness, subs)
        assert harness.poll_oneoff(p, events, 2, n) == 0  # nothing to read: the timer fires
        assert [e[0] for e in _events(harness, events, harness.u32(n))] == [2]
        os.write(w, b"x")
        assert harness.poll_oneoff(p, events, 2, n) == 0
        assert [e[:3] for e in _events(harness, events, harness.u32(n))] == [(1, 0, L.EVENT_FD_READ)]
        harness.close()
    finally:
        os.close(r)
        os.close(w)


def test_a_module_without_memory_gets_an_aot_error_not_a_crash():
    module = aot.compile(wat("""(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""))
    with aot.WasiCtx() as wasi, pytest.raises(aot.AotError, match="does not export a memory"):
        wasi.run(module)


def test_proc_exit_in_the_start_function_ends_the_run():
    module = aot.compile(wat("""(module
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func $init (call $exit (i32.const 3)))
        (start $init)
        (func (export "_start") unreachable))"""))
    with aot.WasiCtx() as wasi:
        assert wasi.run(module) == 3
