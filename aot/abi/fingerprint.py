"""The compatibility fingerprint and the trailer that carries it.

Every artifact ends with a trailer (after the last ELF byte; `dlopen` and `readelf`
ignore it):

    fingerprint   UTF-8 JSON (`Fingerprint.to_json`)
    u32 LE        length of the fingerprint JSON
    u32 LE        CRC-32 of every byte of the file before this field
    8 bytes       TRAILER_MAGIC

The loader checks magic, length and CRC before mapping the file, so a truncated,
corrupted or foreign file is refused without ever being loaded, and then compares the
fingerprint with what this process can run, with a sentence per mismatch."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import asdict, dataclass, field

TRAILER_MAGIC = b"AOTTRLR1"
TRAILER_TAIL = struct.Struct("<II8s")  # json length, crc32, magic

# CPU features each named x86-64 level lets LLVM use (LLVM's X86 target definitions).
_V2 = ("cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3")
_V3 = _V2 + ("avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave")
_V4 = _V3 + ("avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl")
CPU_FEATURES: dict[str, tuple[str, ...]] = {
    "x86-64": (),
    "generic": (),
    "x86-64-v2": _V2,
    "x86-64-v3": _V3,
    "x86-64-v4": _V4,
}


@dataclass(frozen=True)
class Fingerprint:
    aot_version: str
    llvm_version: str
    triple: str
    cpu: str
    features: tuple[str, ...]  # CPU features the code may use, sorted
    options: dict = field(default_factory=dict)  # every codegen option

    def to_json(self) -> bytes:
        d = asdict(self)
        d["features"] = list(self.features)
        return json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Fingerprint:
        d = json.loads(data)
        return cls(d["aot_version"], d["llvm_version"], d["triple"], d["cpu"],
                   tuple(d["features"]), dict(d["options"]))

    @property
    def arch(self) -> str:
        return self.triple.split("-", 1)[0]


def append_trailer(elf: bytes, fp: Fingerprint) -> bytes:
    body = elf + fp.to_json()
    length = len(body) - len(elf)
    head = body + struct.pack("<I", length)
    return head + struct.pack("<I", zlib.crc32(head)) + TRAILER_MAGIC


class TrailerError(ValueError):
    pass


def read_trailer(data: bytes | memoryview) -> tuple[int, Fingerprint]:
    """(length of the ELF part, fingerprint) of a whole artifact file; raises
    TrailerError with the reason when the file is not an intact artifact."""
    n = len(data)
    if n < TRAILER_TAIL.size:
        raise TrailerError("too short to be an aot artifact")
    length, crc, magic = TRAILER_TAIL.unpack_from(data, n - TRAILER_TAIL.size)
    if magic != TRAILER_MAGIC:
        raise TrailerError("no aot trailer (truncated, or not an aot artifact)")
    json_end = n - TRAILER_TAIL.size
    json_start = json_end - length
    if json_start < 0:
        raise TrailerError("corrupt trailer")
    if zlib.crc32(memoryview(data)[: n - 12]) != crc:  # no copy of a mapped file
        raise TrailerError("checksum mismatch: the file is corrupted")
    try:
        return json_start, Fingerprint.from_json(bytes(data[json_start:json_end]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TrailerError(f"corrupt fingerprint ({exc})") from None
