"""WASI preview 1 constants and the byte layout of its records in wasm32 memory
(typenames.witx; all little-endian, naturally aligned)."""

from __future__ import annotations

import struct

# $clockid
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME = range(4)

# $filetype
(FILETYPE_UNKNOWN, FILETYPE_BLOCK_DEVICE, FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY,
 FILETYPE_REGULAR_FILE, FILETYPE_SOCKET_DGRAM, FILETYPE_SOCKET_STREAM,
 FILETYPE_SYMBOLIC_LINK) = range(8)

# $whence
WHENCE_SET, WHENCE_CUR, WHENCE_END = range(3)

# $fdflags
FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC = (1 << i for i in range(5))

# $oflags
OFLAG_CREAT, OFLAG_DIRECTORY, OFLAG_EXCL, OFLAG_TRUNC = (1 << i for i in range(4))

# $lookupflags
LOOKUP_SYMLINK_FOLLOW = 1

# $fstflags
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = (1 << i for i in range(4))

# $eventtype, $subclockflags
EVENT_CLOCK, EVENT_FD_READ, EVENT_FD_WRITE = range(3)
SUBSCRIPTION_CLOCK_ABSTIME = 1

# $rights: bit i is the i-th flag of the witx list.
_RIGHTS = (
    "fd_datasync fd_read fd_seek fd_fdstat_set_flags fd_sync fd_tell fd_write fd_advise "
    "fd_allocate path_create_directory path_create_file path_link_source path_link_target "
    "path_open fd_readdir path_readlink path_rename_source path_rename_target "
    "path_filestat_get path_filestat_set_size path_filestat_set_times fd_filestat_get "
    "fd_filestat_set_size fd_filestat_set_times path_symlink path_remove_directory "
    "path_unlink_file poll_fd_readwrite sock_shutdown sock_accept"
).split()
RIGHT = {name: 1 << i for i, name in enumerate(_RIGHTS)}
RIGHTS_ALL = (1 << len(_RIGHTS)) - 1


def _rights(*names: str) -> int:
    bits = 0
    for n in names:
        bits |= RIGHT[n]
    return bits


# What each kind of descriptor can do (rights are reported, not enforced: the host's own
# open mode and the sandbox are what limit a guest).
RIGHTS_FILE_READ = _rights("fd_read", "fd_seek", "fd_tell", "fd_advise", "fd_filestat_get",
                           "poll_fd_readwrite", "fd_fdstat_set_flags")
RIGHTS_FILE_WRITE = _rights("fd_write", "fd_datasync", "fd_sync", "fd_allocate", "fd_seek",
                            "fd_tell", "fd_advise", "fd_filestat_get", "fd_filestat_set_size",
                            "fd_filestat_set_times", "poll_fd_readwrite", "fd_fdstat_set_flags")
RIGHTS_DIR = _rights(
    "fd_sync", "fd_advise", "path_create_directory", "path_create_file", "path_link_source",
    "path_link_target", "path_open", "fd_readdir", "path_readlink", "path_rename_source",
    "path_rename_target", "path_filestat_get", "path_filestat_set_size",
    "path_filestat_set_times", "fd_filestat_get", "fd_filestat_set_times", "path_symlink",
    "path_remove_directory", "path_unlink_file")
RIGHTS_STDIO = _rights("fd_read", "fd_write", "fd_fdstat_set_flags", "fd_filestat_get",
                       "poll_fd_readwrite")
# path_open: rights that ask for reading or for writing (wasmtime's reading of them).
RIGHTS_WANT_READ = _rights("fd_read", "fd_readdir")
RIGHTS_WANT_WRITE = _rights("fd_write", "fd_datasync", "fd_allocate", "fd_filestat_set_size")

# Records: struct formats and sizes.
IOVEC = struct.Struct("<II")                 # buf, buf_len
FDSTAT = struct.Struct("<BxHxxxxQQ")         # filetype, flags, rights_base, rights_inheriting
FILESTAT = struct.Struct("<QQBxxxxxxxQQQQQ")  # dev, ino, filetype, nlink, size, atim, mtim, ctim
DIRENT = struct.Struct("<QQIBxxx")           # d_next, d_ino, d_namlen, d_type
PRESTAT = struct.Struct("<BxxxI")            # tag (0 = dir), pr_name_len
SUBSCRIPTION_SIZE = 48                       # userdata u64, tag u8 @8, union @16
SUB_HEAD = struct.Struct("<QB")              # userdata, tag
SUB_CLOCK = struct.Struct("<IxxxxQQH")       # @16: id, timeout, precision, flags
SUB_FD = struct.Struct("<I")                 # @16: file_descriptor
EVENT = struct.Struct("<QHBxxxxxQHxxxxxx")   # userdata, error, type, nbytes, flags

assert (FDSTAT.size, FILESTAT.size, DIRENT.size, PRESTAT.size, EVENT.size) == (24, 64, 24, 8, 32)
