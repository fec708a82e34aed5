"""Mapping an artifact into the process without the dynamic loader, the way wasmtime
maps a .cwasm: `mmap` the file, each segment with its own protection, and nothing else.

That suffices because an artifact needs nothing of a dynamic loader
(`aot.abi.artifact`): no relocation, no import, no initializer, and a note among the
first bytes of the file says where the vtable is.  Segments are mapped as glibc maps
them (one mapping for the whole span, then each segment over it at its file offset,
.bss as fresh zero pages), so the code and data are the same as after `dlopen`; only
a RELRO segment holding nothing but `.dynamic`, which only a dynamic loader reads, is
left out.

`AOT_LOADER=dlopen` loads with the dynamic loader instead, for debuggers and tools that
find code through its list of objects (gdb's `break`, `dladdr`, libgcc's unwinder).

Everything here reads bytes that passed the CRC and fingerprint checks; the checks
below refuse an ELF file laid out otherwise (another tool's shared object), so that
nothing is ever mapped wrongly."""

from __future__ import annotations

import os
import struct
from typing import NamedTuple

from aot.abi.artifact import NT_AOT_VTABLE, VTABLE_NOTE_NAME, VTABLE_SYMBOL
from aot.errors import ArtifactError
from aot.loader.ffi import (
    MAP_ANONYMOUS,
    MAP_FAILED,
    MAP_FIXED,
    MAP_PRIVATE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    RTLD_LOCAL,
    RTLD_NOW,
    address,
    ffi,
    libc,
)

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
LOADER_ENV = "AOT_LOADER"

PT_LOAD, PT_DYNAMIC, PT_NOTE, PT_GNU_RELRO = 1, 2, 4, 0x6474E552  # program header types (gABI, GNU)
PF_X, PF_W, PF_R = 1, 2, 4
_PROTECTION = {PF_R: PROT_READ, PF_R | PF_X: PROT_READ | PROT_EXEC,
               PF_R | PF_W: PROT_READ | PROT_WRITE}
_FILE_FIXED = MAP_PRIVATE | MAP_FIXED
_ANON_FIXED = MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS

_PHOFF = struct.Struct("<Q")  # e_phoff, at 32
_PHNUM = struct.Struct("<HH")  # e_phentsize, e_phnum, at 54
_PHDR = struct.Struct("<IIQQQQQQ")
_NOTE_HEADER = struct.Struct("<III")
_VTABLE_DESC = struct.Struct("<q")
_NOTE_NAME = VTABLE_NOTE_NAME + b"\0"
_VOID_P = ffi.typeof("void *")
_OFFSETS = ffi.typeof("int64_t *")


# A segment to map: (protection, file offset, address, file size, memory size).  Plain
# tuples: loading builds a few per artifact, and named tuples cost more than the rest.
Segment = tuple[int, int, int, int, int]


class Layout(NamedTuple):
    """What the program headers say, addresses relative to the load base."""

    segments: list[Segment]
    size: int  # bytes of address space, whole pages
    vtable: int

    def holds(self, vaddr: int, length: int, prot: int = PROT_READ) -> bool:
        """Whether [vaddr, vaddr + length) lies in one segment mapped with `prot`."""
        if vaddr < 0 or length < 0:
            return False
        for seg_prot, _, start, _, memsz in self.segments:
            if start <= vaddr and vaddr + length <= start + memsz and seg_prot & prot == prot:
                return True
        return False

    def file_offset(self, vaddr: int, length: int) -> int | None:
        """Where [vaddr, vaddr + length) lies in the file, if it is file-backed."""
        for _, offset, start, filesz, _ in self.segments:
            if start <= vaddr and vaddr + length <= start + filesz:
                return vaddr - start + offset
        return None


def _page_down(n: int) -> int:
    return n - n % PAGE_SIZE


def _page_up(n: int) -> int:
    return -(-n // PAGE_SIZE) * PAGE_SIZE


class NeedMoreBytes(Exception):
    """`read_layout` needs the first `size` bytes of the file (headers or notes lie
    past those it was given)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def read_layout(path: str, head: bytes, elf_size: int) -> Layout:
    """The segments to map and the vtable's address, from the first bytes of the file
    (`head`), after checking that the file can be mapped as it says.  Raises
    NeedMoreBytes when `head` is too short, ArtifactError when the file is laid out
    otherwise."""
    phoff, = _PHOFF.unpack_from(head, 32)
    phentsize, phnum = _PHNUM.unpack_from(head, 54)
    end = phoff + phentsize * phnum
    if phentsize != _PHDR.size:
        raise _refuse(path, "bad program headers")
    if end > len(head):
        raise NeedMoreBytes(end)
    segments: list[Segment] = []
    note = dynamic = None
    relro = ()
    top = 0  # end of the last segment's pages
    for p_type, flags, offset, vaddr, _, filesz, memsz, _ in _PHDR.iter_unpack(head[phoff:end]):
        if p_type == PT_LOAD:
            n = len(segments)
            if (offset - vaddr) % PAGE_SIZE or _page_down(vaddr) < top or filesz > memsz:
                raise _refuse(path, f"segment {n} is not page-congruent, in order, on pages of its own")
            if offset + filesz > elf_size:
                raise _refuse(path, f"segment {n} reaches past the end of the file")
            prot = _PROTECTION.get(flags)
            if prot is None:
                raise _refuse(path, f"segment {n} has flags {flags:#x}")
            segments.append((prot, offset, vaddr, filesz, memsz))
            top = _page_up(vaddr + memsz)
        elif p_type == PT_NOTE and note is None:
            note = (offset, filesz)
        elif p_type == PT_GNU_RELRO:
            relro = (*relro, (vaddr, memsz))
        elif p_type == PT_DYNAMIC:
            dynamic = (offset, filesz)
    if not segments or segments[0][1] != 0 or segments[0][2] != 0:
        raise _refuse(path, "no segment maps the headers at the start")
    vtable = None
    if note is not None:
        if note[0] + note[1] > len(head):
            raise NeedMoreBytes(note[0] + note[1])
        vtable = _vtable_note(head, *note)
    if vtable is None or not 0 < vtable < top:
        raise _refuse(path, "no vtable note")
    for span in relro:
        for i, seg in enumerate(segments):
            if seg[2] <= span[0] < seg[2] + seg[4]:
                segments[i:i + 1] = _after_relocation(seg, span, dynamic)
                break
    return Layout(segments, top, vtable)


def _after_relocation(seg: Segment, relro: tuple[int, int],
                      dynamic: tuple[int, int] | None) -> list[Segment]:
    """A segment holding a RELRO span (address, size) as it is once a dynamic loader
    has written it: the span's whole pages read-only (aot's artifacts have nothing to
    relocate; glibc rounds the span's end down to a page as well), or not mapped at all
    when they hold only the dynamic section, which no one but a dynamic loader reads.
    The rest keeps the segment's protection: lld gives the span a segment of its own,
    GNU ld puts .data and .bss after it in the same one."""
    prot, offset, vaddr, filesz, memsz = seg
    end = vaddr + memsz
    lo = max(vaddr, _page_down(relro[0]))
    hi = end if relro[0] + relro[1] >= end else _page_down(relro[0] + relro[1])
    if hi <= lo:
        return [seg]  # no whole page to protect

    def piece(start: int, stop: int, piece_prot: int) -> Segment:
        skip = start - vaddr
        return (piece_prot, offset + skip, start, min(max(filesz - skip, 0), stop - start),
                stop - start)

    pieces = [piece(vaddr, lo, prot)] if lo > vaddr else []
    head = piece(lo, hi, PROT_READ)
    if not ((head[1], head[3]) == dynamic and _page_up(hi) - _page_down(lo) == PAGE_SIZE):
        pieces.append(head)
    if hi < end:
        pieces.append(piece(hi, end, prot))
    return pieces


def _refuse(path: str, why: str) -> ArtifactError:
    return ArtifactError(f"{path}: not laid out for aot's loader ({why}); recompile it with this aot")


def table_addresses(addr: int, n: int) -> list[int]:
    """The addresses in one of the artifact's tables of offsets from the table itself
    (`aot.abi.artifact`; 0: none)."""
    if n == 0:
        return []
    return [addr + w if w else 0 for w in ffi.cast(_OFFSETS, addr)[0:n]]


def _vtable_note(head: bytes, offset: int, size: int) -> int | None:
    """The vtable's address from the notes in [offset, offset + size), or None."""
    at, stop = offset, min(offset + size, len(head))
    while at + _NOTE_HEADER.size <= stop:
        namesz, descsz, n_type = _NOTE_HEADER.unpack_from(head, at)
        name_at = at + _NOTE_HEADER.size
        desc_at = name_at + -(-namesz // 4) * 4
        if (n_type == NT_AOT_VTABLE and head[name_at:name_at + namesz] == _NOTE_NAME
                and descsz == _VTABLE_DESC.size and desc_at + descsz <= stop):
            return at + _VTABLE_DESC.unpack_from(head, desc_at)[0]
        at = desc_at + -(-descsz // 4) * 4
    return None


class MappedImage:
    """An artifact mapped at `base` by aot: unmapped when the artifact goes."""

    __slots__ = ("base", "size")

    def __init__(self, path: str, fd: int, layout: Layout):
        self.size = layout.size
        # The first segment (headers, read-only data) is at offset 0: one mapping of
        # the file gives it, and reserves the span the others are mapped over.
        base = libc.mmap(ffi.NULL, layout.size, PROT_READ, MAP_PRIVATE, fd, 0)
        if base == MAP_FAILED:
            raise ArtifactError(f"{path}: cannot map {layout.size} bytes: {os.strerror(ffi.errno)}")
        self.base = address(base)
        try:
            for seg in layout.segments[1:]:
                self._map(fd, seg)
        except OSError as exc:
            libc.munmap(base, layout.size)
            raise ArtifactError(f"{path}: cannot map a segment: {exc.strerror}") from None

    def _map(self, fd: int, seg: Segment) -> None:
        prot, offset, vaddr, filesz, memsz = seg
        start = _page_down(vaddr)
        file_end = vaddr + filesz
        if filesz:
            if libc.mmap(ffi.cast(_VOID_P, self.base + start), file_end - start, prot,
                         _FILE_FIXED, fd, _page_down(offset)) == MAP_FAILED:
                raise OSError(ffi.errno, os.strerror(ffi.errno))
            if memsz > filesz and prot & PROT_WRITE:
                # .bss starting inside the last file page: zeros, not the file's next bytes.
                tail = min(_page_up(file_end), vaddr + memsz) - file_end
                libc.memset(ffi.cast(_VOID_P, self.base + file_end), 0, tail)
            start = _page_up(file_end)
        zero_end = _page_up(vaddr + memsz)
        if zero_end > start and libc.mmap(ffi.cast(_VOID_P, self.base + start), zero_end - start,
                                          prot, _ANON_FIXED, -1, 0) == MAP_FAILED:
            raise OSError(ffi.errno, os.strerror(ffi.errno))

    def close(self) -> None:
        libc.munmap(ffi.cast(_VOID_P, self.base), self.size)


def detach_from_file(base: int, layout: Layout, addr: int) -> None:
    """Replace the file mapping of the segment holding `addr` by anonymous memory with
    the same bytes, so that nothing done to the file (truncated, rewritten in place)
    can change or unmap that code: for the fault handler, which outlives its module.
    Only while none of that code runs (the handler is not installed yet)."""
    for prot, _, vaddr, _, memsz in layout.segments:
        if vaddr <= addr - base < vaddr + memsz:
            start = base + _page_down(vaddr)
            length = _page_up(base + vaddr + memsz) - start
            saved = ffi.new("char[]", length)
            where = ffi.cast(_VOID_P, start)
            ffi.memmove(saved, where, length)
            if libc.mmap(where, length, PROT_READ | PROT_WRITE, _ANON_FIXED, -1, 0) == MAP_FAILED:
                raise OSError(ffi.errno, os.strerror(ffi.errno))
            ffi.memmove(where, saved, length)
            if libc.mprotect(where, length, prot) != 0:
                raise OSError(ffi.errno, os.strerror(ffi.errno))
            return
    raise ValueError(f"0x{addr:x} is in no segment of the artifact")


class DlopenedImage:
    """The artifact loaded by the dynamic loader (`AOT_LOADER=dlopen`): the same memory
    (it has no relocations), and known to debuggers.  Never unloaded."""

    __slots__ = ("base",)

    def __init__(self, path: str, fd: int, layout: Layout):
        handle = libc.dlopen(_dlopen_name(path, fd, os.fstat(fd)).encode(), RTLD_NOW | RTLD_LOCAL)
        if handle == ffi.NULL:
            raise ArtifactError(f"{path}: cannot be loaded as a shared object: {_dlerror()}")
        vtable = address(libc.dlsym(handle, VTABLE_SYMBOL.encode()))
        if not vtable:
            raise ArtifactError(f"{path}: not an aot artifact (no {VTABLE_SYMBOL} symbol)")
        self.base = vtable - layout.vtable

    def close(self) -> None:
        pass  # dlclose could unmap code that a debugger session still shows


def map_image(path: str, fd: int, layout: Layout) -> MappedImage | DlopenedImage:
    if os.environ.get(LOADER_ENV) == "dlopen":
        return DlopenedImage(path, fd, layout)
    return MappedImage(path, fd, layout)


# Names handed to dlopen, and the file each stands for: glibc returns the object already
# loaded under a name, even when the file behind it has changed since.
_dlopen_names: dict[str, tuple[int, int]] = {}


def _dlopen_name(path: str, fd: int, st: os.stat_result) -> str:
    """A name for this very file: its path, unless that name already stands for
    another file (a rebuilt cache entry); then a path through the open descriptor, made
    unique (a descriptor number is reused once closed)."""
    ident = (st.st_dev, st.st_ino)
    name = os.path.abspath(path)
    k = 0
    while _dlopen_names.setdefault(name, ident) != ident:
        name = f"/proc/self/fd/{'./' * k}{fd}"
        k += 1
    return name


def _dlerror() -> str:
    err = libc.dlerror()
    return ffi.string(err).decode(errors="replace") if err != ffi.NULL else "unknown error"
