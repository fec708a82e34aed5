"""What the dynamic loader reads: .dynsym, .dynstr, .gnu.hash, .rela.dyn and .dynamic."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from aot.codegen.elfwriter.constants import SYM_SIZE
from aot.codegen.elfwriter.strtab import StringTable

_RELA = struct.Struct("<QQq")
_SYM = struct.Struct("<IBBHQQ")
_DYN = struct.Struct("<qQ")


class DynamicRelocations:
    """The load-time relocations: R_*_RELATIVE, `*(base + offset) = base + addend`, for
    absolute pointers in data and GOT slots; R_*_GLOB_DAT for the GOT slots of imported
    symbols.

    The only place that creates them, so that removing them later (e.g. the loader
    patching pointers itself) is a change here and at the call sites in `writer.py`."""

    def __init__(self, relative_type: int, glob_dat_type: int) -> None:
        self.relative_type = relative_type
        self.glob_dat_type = glob_dat_type
        self._relative: list[tuple[int, int]] = []
        self._symbolic: list[tuple[int, int, int]] = []

    def add_relative(self, offset: int, addend: int) -> None:
        self._relative.append((offset, addend))

    def add_glob_dat(self, offset: int, dynsym_index: int, addend: int) -> None:
        self._symbolic.append((offset, dynsym_index, addend))

    @property
    def n_relative(self) -> int:
        return len(self._relative)

    def __len__(self) -> int:
        return len(self._relative) + len(self._symbolic)

    def encode(self) -> bytes:
        # RELATIVE ones first (DT_RELACOUNT counts them, so the loader can do them in a
        # tight loop), each kind sorted by address as with ld -z combreloc.
        rel = [_RELA.pack(off, self.relative_type, add) for off, add in sorted(self._relative)]
        sym = [_RELA.pack(off, (index << 32) | self.glob_dat_type, add)
               for off, index, add in sorted(self._symbolic)]
        return b"".join(rel + sym)


def gnu_hash(name: bytes) -> int:
    """The DT_GNU_HASH function (Bernstein's, h * 33 + c)."""
    h = 5381
    for c in name:
        h = (h * 33 + c) & 0xFFFF_FFFF
    return h


@dataclass(frozen=True)
class DynamicSymbol:
    name: str
    value: int
    size: int
    info: int  # st_info: binding << 4 | type
    other: int
    shndx: int


class DynamicSymbols:
    """.dynsym: the null symbol, the imported (undefined) symbols, then the exported ones
    in the order .gnu.hash needs (grouped by hash bucket; only they are hashed).

    Names, string table and hash table depend only on the names, so they are built
    before layout; `dynsym` encodes the symbols once their addresses are known."""

    BLOOM_SHIFT = 26  # as lld and gold

    def __init__(self, exports: list[str], imports: list[str]) -> None:
        self.nbuckets = max(1, len(exports) // 4)
        hashes = {name: gnu_hash(name.encode()) for name in exports}
        self.imports = list(imports)
        self.exports = sorted(exports, key=lambda n: (hashes[n] % self.nbuckets, n))
        self.names = self.imports + self.exports
        self.strtab = StringTable()
        self.name_offsets = [self.strtab.add(n) for n in self.names]
        self.gnu_hash = self._gnu_hash([hashes[n] for n in self.exports])

    def index(self, name: str) -> int:
        """The .dynsym index of `name`."""
        return 1 + self.names.index(name)

    def _gnu_hash(self, hashes: list[int]) -> bytes:
        symoffset = 1 + len(self.imports)  # the null symbol and imports are not hashed
        nwords = 1
        while nwords * 64 < len(hashes) * 12:  # ~12 bits per symbol, a power of two words
            nwords *= 2
        bloom = [0] * nwords
        for h in hashes:
            bloom[(h // 64) % nwords] |= (1 << (h % 64)) | (1 << ((h >> self.BLOOM_SHIFT) % 64))
        buckets = [0] * self.nbuckets
        chains = []
        for i, h in enumerate(hashes):
            b = h % self.nbuckets
            if not buckets[b]:
                buckets[b] = i + symoffset
            last = i + 1 == len(hashes) or hashes[i + 1] % self.nbuckets != b
            chains.append((h & ~1) | int(last))
        return (struct.pack("<IIII", self.nbuckets, symoffset, nwords, self.BLOOM_SHIFT)
                + struct.pack(f"<{nwords}Q", *bloom)
                + struct.pack(f"<{self.nbuckets}I", *buckets)
                + struct.pack(f"<{len(chains)}I", *chains))

    @property
    def dynsym_size(self) -> int:
        return (1 + len(self.names)) * SYM_SIZE

    def dynsym(self, symbols: dict[str, DynamicSymbol]) -> bytes:
        out = [bytes(SYM_SIZE)]
        for name, name_offset in zip(self.names, self.name_offsets):
            s = symbols[name]
            out.append(_SYM.pack(name_offset, s.info, s.other, s.shndx, s.value, s.size))
        return b"".join(out)


def encode_dynamic(entries: list[tuple[int, int]]) -> bytes:
    """The .dynamic array; `entries` are (d_tag, d_val) and must end with DT_NULL."""
    return b"".join(_DYN.pack(tag, value) for tag, value in entries)
