"""The initial contents of memory 0 as a sparse, page-aligned image (`aot.abi.artifact`):
only pages holding a non-zero byte are stored, as runs of consecutive pages, so an
artifact's size tracks the data, not the span of the initial memory.  Toolchains that
put a large stack first (Rust, TinyGo, `--stack-first`) place data megabytes above
zero; those megabytes of zeros are neither stored nor mapped from the file."""

from __future__ import annotations

from dataclasses import dataclass

from aot.abi.artifact import MEMORY_IMAGE_ALIGN
from aot.wasm.module import Module
from aot.wasm.types import PAGE_SIZE

_CONSTS = {0x41: 0xFFFF_FFFF, 0x42: 0xFFFF_FFFF_FFFF_FFFF}  # i32.const, i64.const (memory64)


@dataclass(frozen=True)
class ImageRun:
    offset: int  # in memory 0, page-aligned
    data: bytes  # whole pages


def image_applies(module: Module) -> bool:
    """Whether memory 0 starts from an image rather than by applying the data segments
    in the init function.  Not when the memory is imported (others may observe a failed
    instantiation's writes), an offset is not a constant, or a segment does not fit the
    initial size (it traps)."""
    if module.num_imported_memories or not module.memories:
        return False
    active = [d for d in module.datas if d.mode == "active"]
    if not any(d.data for d in active):
        return False
    limit = module.memories[0].limits.min * PAGE_SIZE
    for seg in active:
        expr = seg.offset or []
        if seg.memory != 0 or len(expr) != 1 or expr[0].op not in _CONSTS:
            return False
        if _offset(seg) + len(seg.data) > limit:
            return False
    return True


def _offset(seg) -> int:
    const = seg.offset[0]
    return const.imm & _CONSTS[const.op]


def memory_image_runs(module: Module) -> list[ImageRun]:
    """The image's non-zero pages, coalesced into runs, in address order; [] when there
    is no image (`image_applies`)."""
    if not image_applies(module):
        return []
    page = MEMORY_IMAGE_ALIGN
    # The pages each segment touches, then the bytes of those pages only: a segment
    # far above zero costs its own size, not its offset.
    pages: dict[int, bytearray] = {}
    for seg in module.datas:
        if seg.mode != "active" or not seg.data:
            continue
        start = _offset(seg)
        end = start + len(seg.data)
        for p in range(start // page, -(-end // page)):
            if p not in pages:
                pages[p] = bytearray(page)
        pos = start
        while pos < end:  # in order: a later segment overwrites an earlier one
            p, within = divmod(pos, page)
            n = min(page - within, end - pos)
            pages[p][within:within + n] = seg.data[pos - start:pos - start + n]
            pos += n
    runs: list[ImageRun] = []
    run_start = run_end = None
    chunk: list[bytes] = []
    for p in sorted(pages):
        data = pages[p]
        if not any(data):
            continue
        if run_end is not None and p == run_end:
            chunk.append(bytes(data))
            run_end += 1
            continue
        if chunk:
            runs.append(ImageRun(run_start * page, b"".join(chunk)))
        run_start, run_end, chunk = p, p + 1, [bytes(data)]
    if chunk:
        runs.append(ImageRun(run_start * page, b"".join(chunk)))
    return runs
