"""Path resolution under a directory descriptor that can never leave it.

The path is walked one component at a time with openat-style calls relative to
descriptors already open (`os.open(..., dir_fd=, O_NOFOLLOW)`, `os.readlink(dir_fd=)`):
`..` pops back to the previous directory and is refused at the root, absolute paths are
refused, and symlinks are expanded here, by the same rules, instead of by the kernel.  No
string comparison of host paths is involved, and a component swapped for a symlink
between the check and the use makes the O_NOFOLLOW open fail rather than escape.
"""

from __future__ import annotations

import errno
import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from aot.wasi.errno import Errno, WasiError

MAX_SYMLINKS = 40  # Linux's limit for one lookup
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Resolved(NamedTuple):
    """The directory holding the last component, and that component's name: never a
    symlink to follow (those were expanded), possibly "." (the directory itself).
    `must_be_dir`: the path ended with "/"."""

    dir_fd: int
    name: bytes
    must_be_dir: bool


def _components(path: bytes) -> list[bytes]:
    return [c for c in path.split(b"/") if c not in (b"", b".")]


@contextmanager
def resolve(root_fd: int, path: bytes, follow: bool) -> Iterator[Resolved]:
    """Resolve `path` under the directory `root_fd`; `follow`: expand a symlink in the
    last component too.  Raises WasiError(NOTCAPABLE) for anything leading outside."""
    if not path:
        raise WasiError(Errno.NOENT)
    if path.startswith(b"/"):
        raise WasiError(Errno.NOTCAPABLE)
    must_be_dir = path.endswith(b"/") or path.endswith(b"/.") or path.endswith(b"/..")
    follow = follow or must_be_dir  # "link/" names what the link points to
    pending = deque(_components(path))
    opened: list[int] = []  # directories walked into below root_fd, innermost last
    links = 0
    name = b"."
    try:
        while pending:
            part = pending.popleft()
            here = opened[-1] if opened else root_fd
            name = b"."
            if part == b"..":
                if not opened:
                    raise WasiError(Errno.NOTCAPABLE)
                os.close(opened.pop())
                continue
            last = not pending
            if last and not follow:
                name = part
                break
            try:
                target = os.readlink(part, dir_fd=here)
            except OSError as exc:
                if exc.errno == errno.EINVAL:  # not a symlink
                    target = None
                elif exc.errno == errno.ENOENT and last:
                    name = part  # a name to create
                    break
                else:
                    raise
            if target is not None:
                links += 1
                if links > MAX_SYMLINKS:
                    raise WasiError(Errno.LOOP)
                if target.startswith(b"/"):
                    raise WasiError(Errno.NOTCAPABLE)
                pending.extendleft(reversed(_components(target)))
                continue
            if last:
                name = part
                break
            opened.append(os.open(part, _DIR_FLAGS, dir_fd=here))
        yield Resolved(opened[-1] if opened else root_fd, name, must_be_dir)
    finally:
        for fd in opened:
            os.close(fd)

