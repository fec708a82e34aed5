"""Post-2.0 proposals, recognized only to be refused by name.

WebAssembly 2.0 calls their encodings malformed (an illegal opcode, an unknown section,
a flag out of range), and the spec suite checks those words, so each refusal keeps them
and names the proposal first: `not supported: tail calls: return_call (illegal opcode
12 in WebAssembly 2.0)`.  The error is `aot.NotSupportedError`, a `CompileError`."""

from __future__ import annotations

from aot.errors import NotSupportedError

# One-byte opcodes 2.0 leaves unassigned.
OPCODES = {
    0x06: ("exception handling", "try"), 0x07: ("exception handling", "catch"),
    0x08: ("exception handling", "throw"), 0x09: ("exception handling", "rethrow"),
    0x0A: ("exception handling", "throw_ref"), 0x18: ("exception handling", "delegate"),
    0x19: ("exception handling", "catch_all"), 0x1F: ("exception handling", "try_table"),
    0x14: ("function references", "call_ref"),
    0x15: ("function references", "return_call_ref"),
    0xD3: ("function references", "ref.eq or ref.as_non_null"),
    0xD4: ("function references", "ref.as_non_null"), 0xD5: ("function references", "br_on_null"),
    0xD6: ("function references", "br_on_non_null"),
    0xFB: ("GC", "a GC instruction"), 0xFE: ("threads", "an atomic instruction"),
}
# Prefixed opcodes: (prefix, first, last) ranges.
PREFIXED = (
    (0xFC, 0x13, 0x16, "wide arithmetic"),
)
# Value type bytes of typed references and GC types.
VALTYPES = {0x63: "function references", 0x64: "function references",
            0x6E: "GC", 0x6D: "GC", 0x6C: "GC", 0x6B: "GC", 0x6A: "GC", 0x69: "exception handling",
            0x71: "GC", 0x72: "GC", 0x73: "GC", 0x74: "exception handling"}
# Type section forms other than `func`.
TYPE_FORMS = {0x5F: "a struct type", 0x5E: "an array type", 0x4E: "a recursion group",
              0x50: "a subtype", 0x4F: "a final subtype"}
TAG_SECTION = 13
COMPONENT_VERSION = b"\x0d\x00\x01\x00"  # a component's version and layer fields


def refuse(proposal: str, what: str, spec_words: str, offset: int | None,
           func_index: int | None = None) -> NotSupportedError:
    return NotSupportedError(f"{proposal}: {what} ({spec_words} in WebAssembly 2.0)",
                             offset, func_index)


def opcode(op: int, sub: int | None, spec_words: str, offset: int) -> NotSupportedError | None:
    """The refusal for an illegal opcode that a proposal defines, or None."""
    if sub is None:
        known = OPCODES.get(op)
        return refuse(known[0], known[1], spec_words, offset) if known else None
    if op == 0xFE:
        return refuse("threads", f"atomic instruction fe {sub}", spec_words, offset)
    for prefix, first, last, proposal in PREFIXED:
        if op == prefix and first <= sub <= last:
            return refuse(proposal, f"instruction {op:02x} {sub}", spec_words, offset)
    return None


__all__ = ["COMPONENT_VERSION", "TAG_SECTION", "TYPE_FORMS", "VALTYPES", "opcode", "refuse"]
