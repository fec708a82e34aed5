"""Errors as the WASI preview 2 interfaces report them: the `error-code` enum of
wasi:filesystem (from preview 1's errno, which aot.wasi already derives from host
errors) and the `error` resource of wasi:io that failed stream operations carry."""

from __future__ import annotations

from dataclasses import dataclass

from aot.wasi.errno import Errno, WasiError, from_oserror

# wasi:filesystem/types `error-code` case for each preview-1 errno that has one;
# NOTCAPABLE (a path leaving its directory) is `not-permitted`, as in wasmtime.
_CODES = {
    "ACCES": "access", "AGAIN": "would-block", "ALREADY": "already", "BADF": "bad-descriptor",
    "BUSY": "busy", "DEADLK": "deadlock", "DQUOT": "quota", "EXIST": "exist",
    "FBIG": "file-too-large", "ILSEQ": "illegal-byte-sequence", "INPROGRESS": "in-progress",
    "INTR": "interrupted", "INVAL": "invalid", "IO": "io", "ISDIR": "is-directory",
    "LOOP": "loop", "MLINK": "too-many-links", "MSGSIZE": "message-size",
    "NAMETOOLONG": "name-too-long", "NODEV": "no-device", "NOENT": "no-entry",
    "NOLCK": "no-lock", "NOMEM": "insufficient-memory", "NOSPC": "insufficient-space",
    "NOTDIR": "not-directory", "NOTEMPTY": "not-empty", "NOTRECOVERABLE": "not-recoverable",
    "NOTSUP": "unsupported", "NOSYS": "unsupported", "NOTTY": "no-tty",
    "NXIO": "no-such-device", "OVERFLOW": "overflow", "PERM": "not-permitted",
    "NOTCAPABLE": "not-permitted", "PIPE": "pipe", "ROFS": "read-only",
    "SPIPE": "invalid-seek", "TXTBSY": "text-file-busy", "XDEV": "cross-device",
}


def error_code(exc: OSError | WasiError) -> str:
    """The `error-code` case for a host error or a preview-1 WasiError."""
    errno = exc.errno if isinstance(exc, WasiError) else from_oserror(exc)
    return _CODES.get(Errno(errno).name, "io")


@dataclass(frozen=True)
class IoError:
    """The host object behind a wasi:io `error` resource: a message for
    `to-debug-string`, and the filesystem `error-code` when a file operation failed."""

    message: str
    code: str | None = None


def io_error(exc: OSError | WasiError, what: str) -> IoError:
    code = error_code(exc)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else code
    return IoError(f"{what} failed: {detail}", code)
