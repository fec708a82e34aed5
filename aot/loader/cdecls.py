"""Every C declaration the loader's cffi knows: the ABI structures of `aot.abi` and the
libc calls the loader makes.  `aot.loader.ffi` builds its FFI from this text."""

from __future__ import annotations

from aot.abi.faults import C_DECLARATIONS as FAULTS
from aot.abi.pyapi import C_DECLARATIONS as PYAPI
from aot.abi.vmctx import C_DECLARATIONS as VMCTX

LIBC = """
void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
int mprotect(void *addr, size_t len, int prot);
int munmap(void *addr, size_t length);
int madvise(void *addr, size_t length, int advice);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
double fma(double x, double y, double z);
float fmaf(float x, float y, float z);
void *dlopen(const char *filename, int flags);
void *dlsym(void *handle, const char *symbol);
char *dlerror(void);
int dlinfo(void *handle, int request, void *info);
"""

DECLARATIONS = VMCTX + PYAPI + FAULTS + LIBC
