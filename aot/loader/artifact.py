"""Mapping an artifact into the process and reading its vtable and module description."""

from __future__ import annotations

import functools
import io
import mmap
import os
import re
import struct

from aot.abi.artifact import (
    ABI_VERSION,
    ADDRESS_WORDS,
    MEMORY_IMAGE_ALIGN,
    VTABLE_MAGIC,
    VTable,
)
from aot.abi.fingerprint import (
    TRAILER_TAIL,
    Fingerprint,
    TrailerError,
    check_crc,
    decode_fingerprint,
    is_verified,
    mark_verified,
    parse_tail,
    read_trailer,
)
from aot.abi.metadata import LazyNames, ModuleDesc, decode_metadata
from aot.abi.pyapi import PYAPI_SIZE
from aot.errors import ArtifactError, Frame, IncompatibleArtifactError
from aot.loader import pyapi, signals
from aot.loader.backtrace import register_artifact
from aot.loader.compat import incompatibilities
from aot.loader.ffi import PROT_EXEC, PROT_READ, PROT_WRITE, ffi
from aot.loader.mapping import (
    NeedMoreBytes,
    detach_from_file,
    map_image,
    read_layout,
    table_addresses,
)
from aot.loader.memory_pool import MemoryImage
from aot.loader.typeregistry import register_artifact_types

_WASM_FUNCTION = re.compile(r"wasm_f(\d+)(?:_|$)")

ELF_MAGIC = b"\x7fELF"


class Artifact:
    """A loaded (dlopen'ed) artifact.  Kept alive by every module and instance using it."""

    def __init__(self, path: str, data: bytes | None = None, expect: dict | None = None):
        self.path = path
        self._debug = None  # (load base, AddressMap), parsed on first need
        self._stack_maps = None  # aot.elf.stackmaps.StackMapIndex, read on first need
        # Everything is checked before the file is mapped: a damaged or foreign file must
        # be refused, never loaded.  The bytes checked are the bytes mapped: both come
        # from one open file, which stays open (backtraces and the memory image read it).
        fd = _open(path)
        self._fd = fd
        self._code_slot = None
        self._given = data  # bytes of a file that may be gone (uncached compiles)
        self._mapped = None
        self.memory_image: MemoryImage | None = None  # see `_find_memory_image`
        self._image = None
        self._image, vtable = self._verify_and_map(path, fd, data, expect)
        self._read_vtable(path, self._image.base + vtable)

    def __del__(self) -> None:
        # Nothing can run this code any more: every module, instance, function and
        # funcref that could reaches it through this object.  But the artifact whose
        # fault handler is installed never goes (`signals`).
        if getattr(self, "_code_slot", None) is not None:
            signals.release_range(self._code_slot)
        if getattr(self, "_image", None) is not None:
            self._image.close()
        if getattr(self, "memory_image", None) is not None:
            self.memory_image.close()
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def serialize(self) -> bytes:
        """The artifact's bytes, as loaded: refused if the file changed since."""
        data = bytes(self._data)
        try:
            read_trailer(data)
        except TrailerError as exc:
            raise ArtifactError(f"{self.path}: changed since it was loaded ({exc})") from None
        return data

    @property
    def _data(self):
        """The whole file, mapped on first need (backtraces, `aot inspect`-style reads)."""
        if self._given is not None:
            return self._given
        if self._mapped is None:
            self._mapped = _read_fd(self.path, self._fd)
        return self._mapped

    def _read_vtable(self, path: str, vt_addr: int) -> None:
        layout, base = self._layout, self._image.base
        if not layout.holds(vt_addr - base, 8 * VTable.SIZE):
            raise ArtifactError(f"{path}: the vtable note points outside the artifact")
        vt = ffi.cast(_WORDS, vt_addr)
        if vt[VTable.MAGIC] != VTABLE_MAGIC:
            raise ArtifactError(f"{path}: not an aot artifact (bad vtable magic)")
        if vt[VTable.ABI_VERSION] != ABI_VERSION:
            raise ArtifactError(
                f"{path}: compiled for artifact ABI {vt[VTable.ABI_VERSION]}, "
                f"this aot reads ABI {ABI_VERSION}"
            )
        # Address words hold offsets from the vtable (`aot.abi.artifact`).
        self.vtable = vtable = [vt_addr + w if w and i in ADDRESS_WORDS else w
                                for i, w in enumerate(vt[0:VTable.SIZE])]
        tables = _check_vtable(path, layout, base, vtable)
        raw = ffi.unpack(ffi.cast(_CHARS, vtable[VTable.METADATA]), vtable[VTable.METADATA_LEN])
        # Per-function tables stay in the mapped artifact: read where used, not parsed.
        func_types = memoryview(ffi.buffer(
            ffi.cast(_CHARS, vtable[VTable.FUNC_TYPES]), 4 * vtable[VTable.N_FUNCS])).cast("I")
        names = LazyNames(lambda: ffi.unpack(ffi.cast(_CHARS, vtable[VTable.NAMES]),
                                             vtable[VTable.NAMES_LEN]))
        try:
            self.desc: ModuleDesc = decode_metadata(raw, func_types, names)
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError,
                MemoryError, RecursionError) as exc:
            raise ArtifactError(f"{path}: corrupt module description ({exc!r})") from None
        self.init_addr = vtable[VTable.INIT]
        self.host_trampolines = tables[VTable.HOST_TRAMPOLINES]
        self.entries = tables[VTable.ENTRIES]
        register_artifact_types(self)  # its host trampolines by type: read on first need
        self.py_entries = tables[VTable.PY_ENTRIES]
        self.py_unchecked = vtable[VTable.PY_UNCHECKED]
        pyapi.fill_table(vtable[VTable.PY_API])
        if len(self.entries) != len(self.desc.types):
            raise ArtifactError(f"{path}: vtable and module description disagree")
        if vtable[VTable.MEMORY_IMAGE_LEN]:
            self.memory_image = self._find_memory_image(path)
        register_artifact(self)
        if self.fingerprint.options.get("bounds_checks") == "guard":
            # Accesses past a memory's end fault: the handler must know this code.
            signals.ensure_installed(vtable[VTable.FAULT_HANDLER], vtable[VTable.FAULT_STATE],
                                     self)
            self._code_slot = signals.register_code(vtable[VTable.TEXT_BEGIN],
                                                    vtable[VTable.TEXT_END])

    def _find_memory_image(self, path: str) -> MemoryImage:
        """Where the memory image's runs lie in the file, for mapping them copy-on-write
        into each instance (the descriptor stays open while the artifact lives)."""
        vaddr = self.vtable[VTable.MEMORY_IMAGE] - self._image.base
        length = self.vtable[VTable.MEMORY_IMAGE_LEN]
        offset = self._layout.file_offset(vaddr, length)
        n_runs = self.vtable[VTable.N_MEMORY_IMAGE_RUNS]
        runs_vaddr = self.vtable[VTable.MEMORY_IMAGE_RUNS] - self._image.base
        if (offset is None or offset % MEMORY_IMAGE_ALIGN or length % MEMORY_IMAGE_ALIGN
                or not 0 < n_runs <= length // MEMORY_IMAGE_ALIGN
                or self._layout.file_offset(runs_vaddr, 16 * n_runs) is None):
            raise ArtifactError(f"{path}: corrupt memory image placement")
        table = memoryview(ffi.buffer(ffi.cast(_CHARS, self.vtable[VTable.MEMORY_IMAGE_RUNS]),
                                      16 * n_runs)).cast("Q")
        runs = []
        packed = end = 0
        for k in range(n_runs):
            mem_offset, n = table[2 * k], table[2 * k + 1]
            if (mem_offset % MEMORY_IMAGE_ALIGN or n % MEMORY_IMAGE_ALIGN or not n
                    or mem_offset < end or packed + n > length or mem_offset + n > 1 << 32):
                raise ArtifactError(f"{path}: corrupt memory image run {k}")
            runs.append((mem_offset, offset + packed, n))
            packed += n
            end = mem_offset + n
        if packed != length:
            raise ArtifactError(f"{path}: corrupt memory image runs")
        return MemoryImage(self._fd, tuple(runs))

    def _verify_and_map(self, path: str, fd: int, data: bytes | None, expect: dict | None):
        try:
            st = None
            if data is None:
                head = os.pread(fd, _WHOLE_READ, 0)
                if len(head) < _WHOLE_READ:
                    # The whole file, in one read: checking its CRC costs less than the
                    # system calls that ask whether it was checked before.
                    data = self._mapped = head
                else:
                    st = os.fstat(fd)
            size = st.st_size if data is None else len(data)
            if data is not None:
                head = data
            _check_header(path, head)
            # The trailer and, nearly always, the fingerprint before it: one read.
            end_at = max(size - _END_READ, 0)
            end = os.pread(fd, size - end_at, end_at) if data is None else data[end_at:]
            json_start, json_end, crc = parse_tail(bytes(end[-TRAILER_TAIL.size:]), size)
            if json_start >= end_at:
                raw = bytes(end[json_start - end_at:json_end - end_at])
            else:
                raw = os.pread(fd, json_end - json_start, json_start)
            self.fingerprint, problems = _judge(raw, expect)
            if data is not None:
                check_crc(data, crc)
            elif not is_verified(fd, st, crc):
                check_crc(self._data, crc)
                mark_verified(fd, crc)
            if problems:
                raise IncompatibleArtifactError(f"{path}: cannot be loaded here: "
                                                + "; ".join(problems))
            layout = self._read_layout(path, fd, head, data, json_start)
        except TrailerError as exc:
            raise ArtifactError(f"{path}: {exc}") from None
        except OSError as exc:
            raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from None
        self._layout = layout  # for `_find_memory_image`
        return map_image(path, fd, layout), layout.vtable

    @staticmethod
    def _read_layout(path: str, fd: int, head: bytes, data: bytes | None, elf_size: int):
        """The layout, from the first bytes of the file; more of them if the headers
        reach further (the trailer, after `elf_size`, is no segment's)."""
        try:
            while True:
                try:
                    return read_layout(path, bytes(head), elf_size)
                except NeedMoreBytes as more:
                    if more.size > elf_size or more.size <= len(head):
                        raise ArtifactError(f"{path}: truncated ELF headers") from None
                    head = os.pread(fd, more.size, 0) if data is None else data[:more.size]
        except struct.error:
            raise ArtifactError(f"{path}: truncated ELF headers") from None

    # --- backtraces (parsed lazily: start-up never reads the ELF file) -------------------

    def _debug_info(self):
        if self._debug is None:
            from elftools.elf.elffile import ELFFile

            from aot.elf.addrmap import AddressMap

            self._debug = (self._image.base, AddressMap(ELFFile(io.BytesIO(bytes(self._data)))))
        return self._debug

    def detach_from_file(self, addr: int) -> None:
        """Copy the code segment holding `addr` out of the file (`aot.loader.mapping`)."""
        try:
            detach_from_file(self._image.base, self._layout, addr)
        except OSError as exc:
            raise ArtifactError(f"{self.path}: cannot copy the fault handler's code: "
                                f"{exc.strerror}") from None

    def stack_map_slots(self, return_address: int) -> list[tuple[int, int]]:
        """The reference slots (DWARF register, offset) of the wasm frame that made the
        call returning to `return_address` (`aot.elf.stackmaps`); [] when it keeps none.
        The stack maps are read from the file the first time a collection needs them."""
        if self._stack_maps is None:
            self._stack_maps = self._read_stack_maps()
        slots = self._stack_maps.slots_at(return_address - self._image.base)
        return slots or []

    def _read_stack_maps(self):
        from elftools.elf.elffile import ELFFile

        from aot.elf.stackmaps import SECTION, StackMapError, StackMapIndex, parse

        section = ELFFile(io.BytesIO(bytes(self._data))).get_section_by_name(SECTION)
        try:
            return StackMapIndex(parse(section.data()) if section is not None else [])
        except StackMapError as exc:
            raise ArtifactError(f"{self.path}: {exc}") from None

    def code_contains(self, pc: int) -> bool:
        """Whether `pc` is in this artifact's compiled code (no ELF parsing)."""
        return self.vtable[VTable.TEXT_BEGIN] <= pc < self.vtable[VTable.TEXT_END]

    def frames_at(self, pc: int) -> list[Frame]:
        """The wasm frames (innermost first) active at address `pc` in this artifact."""
        base, addrmap = self._debug_info()
        out = []
        for sf in addrmap.frames_at(pc - base):
            m = _WASM_FUNCTION.match(sf.function)
            if m is None:
                continue  # trampolines and runtime code: not wasm frames
            index = int(m.group(1))
            out.append(self.frame(index, sf.line - 1 if sf.line else None))
        return out

    def frame(self, index: int, body_offset: int | None) -> Frame:
        """Function `index`'s frame at `body_offset` bytes into its body (None: unknown),
        reported as an offset in the wasm file, as wasmtime does."""
        desc = self.desc
        offset = None
        n_imported = self.vtable[VTable.N_IMPORTED_FUNCS]
        defined = index - n_imported
        if body_offset is not None and 0 <= defined < self.vtable[VTable.N_FUNCS] - n_imported:
            starts = ffi.cast("uint32_t *", self.vtable[VTable.CODE_OFFSETS])
            offset = starts[defined] + body_offset
        name = desc.func_names.get(index, f"<wasm function {index}>")
        return Frame(index, name, desc.name or "<unknown>", offset)


def _check_vtable(path: str, layout, base: int, vt: list[int]) -> dict[int, list[int]]:
    """Every table and code address the vtable gives lies where the artifact maps
    something of its kind (data readable, code executable, the runtime's writable), and
    every count is sane, before any of it is read.  Returns the code tables, decoded
    (vtable word -> addresses), for the loader to keep.  A mapped artifact is native code
    the process will run (README, "Trust"), but what the loader reads first must not
    crash it, whatever the file says."""

    def refuse(what: str) -> ArtifactError:
        return ArtifactError(f"{path}: corrupt vtable ({what})")

    n_funcs, n_imported, n_types = vt[VTable.N_FUNCS], vt[VTable.N_IMPORTED_FUNCS], vt[VTable.N_TYPES]
    if not (0 <= n_imported <= n_funcs < 2**32 and 0 <= n_types < 2**32):
        raise refuse("function or type counts")
    data = (
        (VTable.METADATA, vt[VTable.METADATA_LEN], "metadata"),
        (VTable.FUNC_TYPES, 4 * n_funcs, "function types"),
        (VTable.HOST_TRAMPOLINES, 8 * n_imported, "host trampolines"),
        (VTable.ENTRIES, 8 * n_types, "entries"),
        (VTable.NAMES, vt[VTable.NAMES_LEN], "names"),
        (VTable.MEMORY_IMAGE, vt[VTable.MEMORY_IMAGE_LEN], "memory image"),
        (VTable.MEMORY_IMAGE_RUNS, 16 * vt[VTable.N_MEMORY_IMAGE_RUNS], "memory image runs"),
        (VTable.PY_ENTRIES, 8 * n_types, "Python entries"),
        (VTable.HOST_TRAMPOLINES_BY_TYPE, 8 * n_types, "host trampolines by type"),
        (VTable.CODE_OFFSETS, 4 * (n_funcs - n_imported), "code offsets"),
    )
    for word, length, what in data:
        addr = vt[word]
        if length and not (addr and layout.holds(addr - base, length)):
            raise refuse(what)
    for word, length, prot, what in ((VTable.PY_API, 8 * PYAPI_SIZE, PROT_READ | PROT_WRITE, "py_api"),
                                     (VTable.FAULT_STATE, 8, PROT_READ | PROT_WRITE, "fault state")):
        if vt[word] and not layout.holds(vt[word] - base, length, prot):
            raise refuse(what)
    code = PROT_READ | PROT_EXEC
    begin, end = vt[VTable.TEXT_BEGIN], vt[VTable.TEXT_END]
    if not (begin and begin <= end and layout.holds(begin - base, end - begin, code)):
        raise refuse("code range")

    def is_code(addr: int) -> bool:
        return begin <= addr < end or layout.holds(addr - base, 1, code)

    if not is_code(vt[VTable.INIT]):
        raise refuse("init")
    for word in (VTable.PY_UNCHECKED, VTable.FAULT_HANDLER):
        if vt[word] and not is_code(vt[word]):
            raise refuse("entry point")
    tables = {}
    for word, n in ((VTable.HOST_TRAMPOLINES, n_imported), (VTable.ENTRIES, n_types),
                    (VTable.PY_ENTRIES, n_types), (VTable.HOST_TRAMPOLINES_BY_TYPE, n_types)):
        tables[word] = table_addresses(vt[word], n)
        if not all(a == 0 or is_code(a) for a in tables[word]):
            raise refuse("a code table")
    return tables


@functools.lru_cache(maxsize=64)
def _judge_cached(raw: bytes, expect: tuple) -> tuple[Fingerprint, tuple[str, ...]]:
    fp = decode_fingerprint(raw)
    return fp, tuple(incompatibilities(fp, dict(expect)))


def _judge(raw: bytes, expect: dict | None) -> tuple[Fingerprint, tuple[str, ...]]:
    """The fingerprint and every reason this process cannot run it; artifacts of one
    build share their fingerprint, so the verdict is kept."""
    try:
        return _judge_cached(raw, tuple(sorted((expect or {}).items())))
    except TypeError:  # an unhashable expected value: judge without the memo
        fp = decode_fingerprint(raw)
        return fp, tuple(incompatibilities(fp, expect))


# Bytes read from the start: ELF and program headers, the vtable note; a file shorter
# than that is read whole and checked by CRC (about 0.3 µs a KiB).
_WHOLE_READ = 16384
_END_READ = 4096  # bytes read from the end of a file for its trailer
_WORDS = ffi.typeof("int64_t *")  # the vtable: offsets may be negative
_CHARS = ffi.typeof("char *")


def _open(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot read: {exc.strerror}") from exc


def artifact_from_bytes(data: bytes, expect: dict | None = None) -> Artifact:
    """An artifact given as bytes (from `compile_artifact`, `Module.serialize` or a
    database).  The loader maps files: the bytes go to a private temporary file, whose
    mapping outlives it."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="aot-") as tmp:
        path = os.path.join(tmp, "module.so")
        with open(path, "wb") as f:
            f.write(data)
        return Artifact(path, data=data, expect=expect)


def _read_fd(path: str, fd: int):
    """The file's bytes, mapped rather than copied (checked by CRC, kept for backtraces)."""
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return b""
        return mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read: {exc}") from exc


def _check_header(path: str, data: bytes) -> None:
    head = data[:64]
    if head[:4] != ELF_MAGIC:
        raise ArtifactError(f"{path}: not an ELF file, so not an aot artifact")
    if len(head) < 64 or head[4] != 2 or head[5] != 1 or head[16] != 3:
        raise ArtifactError(f"{path}: not a 64-bit little-endian ELF shared object")
