"""The loader's cffi (ABI mode: no C compiler): the ABI structures, the artifact's one
symbol, and the few libc calls memories need."""

from __future__ import annotations

from aot.loader.cdecls import DECLARATIONS


def _make_ffi():
    """The pre-parsed FFI (`aot.loader.ffi_build`) when it matches the declarations,
    else one parsed now."""
    from aot.loader.ffi_build import declarations_crc  # light: cffi is imported lazily

    try:
        from aot.loader import _cffi_abi
    except ImportError:
        _cffi_abi = None
    if _cffi_abi is not None and getattr(_cffi_abi, "DECLARATIONS_CRC", None) == declarations_crc():
        return _cffi_abi.ffi
    import cffi

    parsed = cffi.FFI()
    parsed.cdef(DECLARATIONS)
    return parsed


ffi = _make_ffi()
libc = ffi.dlopen(None)

PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
MAP_PRIVATE = 0x02
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED = 0x10
MADV_DONTNEED = 4  # Linux, every architecture aot targets
RTLD_DI_LINKMAP = 2
MAP_FAILED = ffi.cast("void *", -1)

RTLD_NOW = 0x2
RTLD_LOCAL = 0

ENTRY_C_TYPE = "uint32_t (*)(VMFuncRef *, ValRaw *)"
INIT_C_TYPE = "uint32_t (*)(void *)"


_UINTPTR = ffi.typeof("uintptr_t")


def address(cdata) -> int:
    return int(ffi.cast(_UINTPTR, cdata))
