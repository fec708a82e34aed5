"""WASI preview 1 error numbers (`$errno` in typenames.witx), and how host errors map to
them."""

from __future__ import annotations

import enum
import errno as _host

# In the witx order, which *is* the numbering: success = 0 ... notcapable = 76.
_NAMES = (
    "SUCCESS 2BIG ACCES ADDRINUSE ADDRNOTAVAIL AFNOSUPPORT AGAIN ALREADY BADF BADMSG BUSY "
    "CANCELED CHILD CONNABORTED CONNREFUSED CONNRESET DEADLK DESTADDRREQ DOM DQUOT EXIST "
    "FAULT FBIG HOSTUNREACH IDRM ILSEQ INPROGRESS INTR INVAL IO ISCONN ISDIR LOOP MFILE "
    "MLINK MSGSIZE MULTIHOP NAMETOOLONG NETDOWN NETRESET NETUNREACH NFILE NOBUFS NODEV "
    "NOENT NOEXEC NOLCK NOLINK NOMEM NOMSG NOPROTOOPT NOSPC NOSYS NOTCONN NOTDIR NOTEMPTY "
    "NOTRECOVERABLE NOTSOCK NOTSUP NOTTY NXIO OVERFLOW OWNERDEAD PERM PIPE PROTO "
    "PROTONOSUPPORT PROTOTYPE RANGE ROFS SPIPE SRCH STALE TIMEDOUT TXTBSY XDEV NOTCAPABLE"
).split()

Errno = enum.IntEnum("Errno", [(name, i) for i, name in enumerate(_NAMES)])
Errno.__doc__ = "A WASI preview 1 errno (`Errno.NOENT == 44`, `Errno.NOTCAPABLE == 76`)."
Errno.__module__ = __name__


class WasiError(Exception):
    """Ends a WASI call with `errno` as its result (never leaves the WASI layer)."""

    def __init__(self, errno: Errno):
        super().__init__(errno.name)
        self.errno = errno


# Host errno -> WASI errno, by name (EACCES -> ACCES, E2BIG -> 2BIG, ...).
_FROM_HOST = {getattr(_host, "E" + n): Errno[n] for n in _NAMES[1:] if hasattr(_host, "E" + n)}
_FROM_HOST[_host.EOPNOTSUPP] = Errno.NOTSUP  # the same number as ENOTSUP on Linux


def from_oserror(exc: OSError) -> Errno:
    """The WASI errno for a host OSError (EIO for one WASI has no name for)."""
    return _FROM_HOST.get(exc.errno, Errno.IO)
