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
import mmap
import os
import struct
import time
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
    llvmlite_version: str = ""  # the binding that carried `llvm_version`

    def to_json(self) -> bytes:
        d = asdict(self)
        d["features"] = list(self.features)
        return json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Fingerprint:
        d = json.loads(data)
        return cls(d["aot_version"], d["llvm_version"], d["triple"], d["cpu"],
                   tuple(d["features"]), dict(d["options"]), d.get("llvmlite_version", ""))

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


def parse_tail(tail: bytes, file_size: int) -> tuple[int, int, int]:
    """(start, end) of the fingerprint JSON and the recorded CRC, from the file's last
    TRAILER_TAIL.size bytes."""
    if file_size < TRAILER_TAIL.size or len(tail) != TRAILER_TAIL.size:
        raise TrailerError("too short to be an aot artifact")
    length, crc, magic = TRAILER_TAIL.unpack(tail)
    if magic != TRAILER_MAGIC:
        raise TrailerError("no aot trailer (truncated, or not an aot artifact)")
    json_end = file_size - TRAILER_TAIL.size
    json_start = json_end - length
    if json_start < 0:
        raise TrailerError("corrupt trailer")
    return json_start, json_end, crc


def check_crc(data: bytes | memoryview | mmap.mmap, crc: int) -> None:
    """The recorded CRC against the bytes it covers (all but the last 12)."""
    if zlib.crc32(memoryview(data)[: len(data) - 12]) != crc:  # no copy of a mapped file
        raise TrailerError("checksum mismatch: the file is corrupted")


def decode_fingerprint(raw: bytes) -> Fingerprint:
    try:
        return Fingerprint.from_json(raw)
    except (ValueError, KeyError, TypeError) as exc:
        raise TrailerError(f"corrupt fingerprint ({exc})") from None


def read_trailer(data: bytes | memoryview) -> tuple[int, Fingerprint]:
    """(length of the ELF part, fingerprint) of a whole artifact file; raises
    TrailerError with the reason when the file is not an intact artifact."""
    n = len(data)
    json_start, json_end, crc = parse_tail(bytes(data[n - TRAILER_TAIL.size:]), n)
    check_crc(data, crc)
    return json_start, decode_fingerprint(bytes(data[json_start:json_end]))


# --- verified once -----------------------------------------------------------------------
#
# Checking the CRC costs a pass over the whole file (~0.3 ms per MB), on every load.  A
# file that passed (or that aot wrote itself) carries an extended attribute naming its
# size, modification time, CRC and the moment it was marked; a load that finds them
# still matching skips the pass.  Size and mtime alone are not enough: `touch -r` and
# `rsync --inplace -t` restore an mtime after changing the bytes.  The inode's change
# time (ctime) cannot be set back without root: any write, truncation, touch, chmod or
# rename after the mark moves it past the mark's moment, and the mark no longer counts.
# Where the filesystem has no user attributes, or its clock is not this machine's (NFS),
# every load checks.

STAMP_XATTR = "user.aot.verified"
# Where the ctime the mark itself sets may lie around the moment noted just before it:
# up to a clock tick earlier (kernels stamp inodes with a coarse clock), barely later.
MARK_EARLY_NS = 10_000_000
MARK_LATE_NS = 2_000_000


def _stamp_value(st: os.stat_result, crc: int, marked_ns: int) -> bytes:
    return f"{st.st_size}:{st.st_mtime_ns}:{crc:08x}:{marked_ns}".encode()


def is_verified(fd: int, st: os.stat_result, crc: int) -> bool:
    try:
        stamp = os.getxattr(fd, STAMP_XATTR)
    except (OSError, AttributeError):  # no attribute, no support, or not Linux
        return False
    try:
        marked_ns = int(stamp.rsplit(b":", 1)[1])
    except (ValueError, IndexError):
        return False
    return (stamp == _stamp_value(st, crc, marked_ns)
            and -MARK_EARLY_NS <= st.st_ctime_ns - marked_ns <= MARK_LATE_NS)


def mark_verified(fd: int, crc: int) -> None:
    """Best effort: a read-only file or filesystem just keeps being checked.  The last
    change to the file: a rename or chmod after it voids the mark (see above)."""
    try:
        os.setxattr(fd, STAMP_XATTR, _stamp_value(os.fstat(fd), crc, time.time_ns()))
    except (OSError, AttributeError):
        pass


def trailer_crc(artifact: bytes) -> int:
    return TRAILER_TAIL.unpack_from(artifact, len(artifact) - TRAILER_TAIL.size)[1]
