"""The initial contents of memory 0 as one page-aligned image (see `aot.abi.artifact`)."""

from __future__ import annotations

from aot.abi.artifact import MEMORY_IMAGE_ALIGN
from aot.wasm.module import Module
from aot.wasm.types import PAGE_SIZE

_I32_CONST = 0x41


def memory_image(module: Module) -> bytes | None:
    """The image, or None when the data segments must be applied by the init function:
    an imported memory (others may observe a failed instantiation's writes), an offset
    that is not a constant, or a segment that does not fit the initial size (it traps)."""
    if module.num_imported_memories or not module.memories:
        return None
    active = [d for d in module.datas if d.mode == "active"]
    if not any(d.data for d in active):
        return None
    limit = module.memories[0].limits.min * PAGE_SIZE
    extent = 0
    for seg in active:
        expr = seg.offset or []
        if seg.memory != 0 or len(expr) != 1 or expr[0].op != _I32_CONST:
            return None
        start = expr[0].imm & 0xFFFFFFFF
        if start + len(seg.data) > limit:
            return None
        extent = max(extent, start + len(seg.data))
    size = -(-extent // MEMORY_IMAGE_ALIGN) * MEMORY_IMAGE_ALIGN
    image = bytearray(size)
    for seg in active:  # in order: a later segment overwrites an earlier one
        start = seg.offset[0].imm & 0xFFFFFFFF
        image[start:start + len(seg.data)] = seg.data
    return bytes(image)
