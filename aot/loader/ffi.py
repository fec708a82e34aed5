"""The loader's cffi (ABI mode: no C compiler): the ABI structures, the artifact's one
symbol, and the few libc calls memories need."""

from __future__ import annotations

import cffi

from aot.abi.pyapi import C_DECLARATIONS as PYAPI_DECLARATIONS
from aot.abi.vmctx import C_DECLARATIONS

ffi = cffi.FFI()
ffi.cdef(C_DECLARATIONS)
ffi.cdef(PYAPI_DECLARATIONS)
ffi.cdef(
    """
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
    int mprotect(void *addr, size_t len, int prot);
    int munmap(void *addr, size_t length);
    void *memmove(void *dst, const void *src, size_t n);
    void *memset(void *dst, int c, size_t n);
    void *memcpy(void *dst, const void *src, size_t n);
    void *dlopen(const char *filename, int flags);
    void *dlsym(void *handle, const char *symbol);
    char *dlerror(void);
    int dlinfo(void *handle, int request, void *info);
    """
)
libc = ffi.dlopen(None)

PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
MAP_PRIVATE = 0x02
MAP_ANONYMOUS = 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED = 0x10
RTLD_DI_LINKMAP = 2
MAP_FAILED = ffi.cast("void *", -1)

RTLD_NOW = 0x2
RTLD_LOCAL = 0

ENTRY_C_TYPE = "uint32_t (*)(VMFuncRef *, ValRaw *)"
INIT_C_TYPE = "uint32_t (*)(void *)"


def address(cdata) -> int:
    return int(ffi.cast("uintptr_t", cdata))
