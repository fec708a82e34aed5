"""The binary format's encodings (spec 5): LEB128, vectors, names, sections, and the
assembly of a parsed module into its bytes.

The parser encodes every entry as it goes (a function body, an import, a segment are
`bytes` by the time they reach `Module`); this module only frames them.  The layout
follows wasm-tools (wasmtime's `wat2wasm`) so that both give the same bytes: sections in
the spec's order, empty ones left out, a data count section exactly when a function uses
`memory.init` or `data.drop`, and a `name` section holding every `$id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NameMap = list[tuple[int, str]]


def uleb(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    if -0x40 <= value < 0x40:
        return bytes((value & 0x7F,))
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def name(text: str) -> bytes:
    data = text.encode("utf-8")
    return uleb(len(data)) + data


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def section(sid: int, payload: bytes) -> bytes:
    return bytes((sid,)) + uleb(len(payload)) + payload


@dataclass
class Names:
    """The `name` custom section: every `$id` of the module, by index space."""

    module: str | None = None
    funcs: NameMap = field(default_factory=list)
    locals: list[tuple[int, NameMap]] = field(default_factory=list)
    labels: list[tuple[int, NameMap]] = field(default_factory=list)
    types: NameMap = field(default_factory=list)
    tables: NameMap = field(default_factory=list)
    memories: NameMap = field(default_factory=list)
    globals: NameMap = field(default_factory=list)
    elems: NameMap = field(default_factory=list)
    datas: NameMap = field(default_factory=list)
    # Parameter names of function type definitions: subsection 12 of the extended name
    # section proposal, which wasm-tools writes.
    params: list[tuple[int, NameMap]] = field(default_factory=list)

    def encode(self) -> bytes:
        """The section's payload after its name; empty when there is no name at all."""
        subsections = []
        if self.module is not None:
            subsections.append((0, name(self.module)))
        for sid, names in ((1, self.funcs),):
            if names:
                subsections.append((sid, _name_map(names)))
        for sid, indirect in ((2, self.locals), (3, self.labels)):
            if indirect:
                subsections.append((sid, vec([uleb(i) + _name_map(m) for i, m in indirect])))
        for sid, names in ((4, self.types), (5, self.tables), (6, self.memories),
                           (7, self.globals), (8, self.elems), (9, self.datas)):
            if names:
                subsections.append((sid, _name_map(names)))
        if self.params:
            subsections.append((12, vec([uleb(i) + _name_map(m) for i, m in self.params])))
        return b"".join(section(sid, payload) for sid, payload in subsections)


def _name_map(names: NameMap) -> bytes:
    return vec([uleb(i) + name(n) for i, n in names])


@dataclass
class Module:
    """A parsed module: each entry already encoded, in index order."""

    types: list[bytes] = field(default_factory=list)
    imports: list[bytes] = field(default_factory=list)
    funcs: list[int] = field(default_factory=list)  # type index of each defined function
    tables: list[bytes] = field(default_factory=list)
    memories: list[bytes] = field(default_factory=list)
    globals: list[bytes] = field(default_factory=list)
    exports: list[bytes] = field(default_factory=list)
    start: int | None = None
    elems: list[bytes] = field(default_factory=list)
    codes: list[bytes] = field(default_factory=list)
    datas: list[bytes] = field(default_factory=list)
    data_count: bool = False  # a function uses memory.init or data.drop
    names: Names = field(default_factory=Names)
    # Custom sections of `(@custom "name" (place)? "data"*)`: (place, section), where the
    # place is "before first", "after last", or "before"/"after" and a section keyword.
    customs: list[tuple[str, bytes]] = field(default_factory=list)


_HEADER = b"\0asm\x01\0\0\0"
# The sections a custom section can be placed against, in order, with their ids.
ANCHORS = {"type": 1, "import": 2, "func": 3, "table": 4, "memory": 5, "tag": 13,
           "global": 6, "export": 7, "start": 8, "elem": 9, "code": 10, "data": 11}


def encode(m: Module) -> bytes:
    items = {1: m.types, 2: m.imports, 3: [uleb(t) for t in m.funcs], 4: m.tables,
             5: m.memories, 6: m.globals, 7: m.exports, 9: m.elems,
             10: [uleb(len(code)) + code for code in m.codes], 11: m.datas, 13: []}
    out = bytearray(_HEADER)

    def customs(place: str) -> None:
        for where, custom in m.customs:
            if where == place:
                out.extend(custom)

    customs("before first")
    for anchor, sid in ANCHORS.items():
        customs(f"before {anchor}")
        if sid == 8:
            if m.start is not None:
                out += section(8, uleb(m.start))
        elif items[sid]:
            out += section(sid, vec(items[sid]))
        customs(f"after {anchor}")
        if sid == 9 and m.data_count:  # the data count section has no anchor of its own
            out += section(12, uleb(len(m.datas)))
    customs("after last")
    names = m.names.encode()
    if names:
        out += section(0, name("name") + names)
    return bytes(out)

