"""fd_readdir: directory entries as a stream of `dirent` records, each followed by its
name, addressed by cookies.

The listing is taken when a read starts at cookie 0 and kept, so cookies stay valid while
the guest reads on (wasi-libc's readdir reads at the cookie of the last entry it could
parse whole).  The buffer is filled completely when there is more, the last entry cut
short wherever the buffer ends: that is how the guest knows to read again, and with a
bigger buffer if one entry alone does not fit."""

from __future__ import annotations

import os

from aot.wasi import layout as L
from aot.wasi.fdtable import filetype_of


def _dtype(entry: os.DirEntry) -> int:
    if entry.is_symlink():
        return L.FILETYPE_SYMBOLIC_LINK
    if entry.is_dir(follow_symlinks=False):
        return L.FILETYPE_DIRECTORY
    if entry.is_file(follow_symlinks=False):
        return L.FILETYPE_REGULAR_FILE
    try:
        return filetype_of(entry.stat(follow_symlinks=False).st_mode)
    except OSError:  # gone since it was listed
        return L.FILETYPE_UNKNOWN


def list_directory(host_fd: int) -> list[tuple[bytes, int, int]]:
    """(name, inode, filetype) of every entry, "." and ".." first.  ".." gets the
    directory's own inode: its real parent may be outside the sandbox."""
    ino = os.fstat(host_fd).st_ino
    entries = [(b".", ino, L.FILETYPE_DIRECTORY), (b"..", ino, L.FILETYPE_DIRECTORY)]
    with os.scandir(host_fd) as it:
        for e in it:
            entries.append((os.fsencode(e.name), e.inode(), _dtype(e)))
    return entries


def fd_readdir(ctx, fd, buf, buf_len, cookie, out):
    d = ctx.fds.directory(fd)
    if cookie == 0 or d.listing is None:
        d.listing = list_directory(d.host_fd)
    data = bytearray()
    for i in range(cookie, len(d.listing)):
        if len(data) >= buf_len:
            break
        name, ino, dtype = d.listing[i]
        data += L.DIRENT.pack(i + 1, ino, len(name), dtype)
        data += name
    n = min(len(data), buf_len)
    ctx.memory.write(buf, bytes(data[:n]))
    ctx.memory.u32(out, n)
