"""Modules in the text format (spec 6.6): fields, their abbreviations, and index spaces.

Two passes over the fields.  The first (`_declare`) numbers every definition in its index
space (imports first: an import after a definition is malformed) and records `$id`s,
which may be used before they are defined.  The second parses each field in order and
encodes it into `encoder.Module`.

Inline abbreviations expand where they stand, as the spec and wasm-tools expand them: an
inline `(export ...)` becomes an export at the field's place among the exports, an inline
`(import ...)` an import, `(table funcref (elem ...))` a table sized to its elements plus
an active segment, `(memory (data ...))` a memory sized to its data plus a segment.
A type use without `(type x)` refers to the first type of the same signature, explicit
types first; failing that, a new type is appended after all explicit ones, in the order
the type uses occur (wasm-tools' order, so that both give the same type section).
"""

from __future__ import annotations

from aot.wat.cursor import EOF, ID, KW, LP, NUM, RP, STR, Cursor
from aot.wat.encoder import ANCHORS, Module, NameMap, name, section, sleb, uleb, vec
from aot.wat.instructions import ExprParser
from aot.wat.types import (
    TypeUse,
    address_type,
    functype,
    limits,
    limits_bytes,
    reftype,
    refuse,
    typeuse,
    valtype,
)

_SPACES = ("type", "func", "table", "memory", "global", "elem", "data")
_KIND_WORDS = {"func": "function", "table": "table", "memory": "memory", "global": "global"}
_FIELDS = frozenset(["type", "import", "func", "table", "memory", "global", "export", "start",
                     "elem", "data", "tag", "rec", "@custom"])
_EXTERN = {"func": 0x00, "table": 0x01, "memory": 0x02, "global": 0x03}
_FUNCREF = b"\x70"


class Space:
    """One index space: how many definitions so far and the index of each `$id`."""

    __slots__ = ("kind", "ids", "count", "names")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.ids: dict[str, int] = {}
        self.count = 0
        self.names: NameMap = []  # (index, id) in index order, for the name section

    def define(self, c: Cursor, ident: str | None, at: int) -> int:
        index = self.count
        if ident is not None:
            if ident in self.ids:
                raise c.error(f"duplicate {self.kind} ${ident}", at)
            self.ids[ident] = index
            self.names.append((index, ident))
        self.count += 1
        return index


class ModuleParser:
    def __init__(self, c: Cursor) -> None:
        self.c = c
        self.module = Module()
        self.spaces = {kind: Space(kind) for kind in _SPACES}
        self.types: list[TypeUse] = []  # every type so far, explicit then implicit
        self.first_type: dict[tuple, int] = {}  # signature -> its first type index
        self.is64: list[bool] = []  # per memory: 64-bit addresses (memory64)
        self.next: dict[str, int] = dict.fromkeys(_SPACES, 0)  # second pass: next index

    # ---- indices ---------------------------------------------------------------------

    def index(self, kind: str) -> int:
        """An index into space `kind` at the cursor: a number or a defined `$id`."""
        c = self.c
        if c.kinds[c.i] == ID:
            index = self.spaces[kind].ids.get(c.values[c.i])
            if index is None:
                word = "function" if kind == "func" else kind
                raise c.error(f"unknown {word} ${c.values[c.i]}")
            c.i += 1
            return index
        return c.nat()

    def type_index(self, c: Cursor) -> int:
        return self.index("type")

    def memory64(self, memory: int) -> bool:
        return memory < len(self.is64) and self.is64[memory]

    def typeuse_index(self, use: TypeUse) -> int:
        """The type a type use refers to: its `(type x)`, checked against the inline
        signature when there is one, or the first type of that signature (appended if
        there is none)."""
        if use.index is not None:
            if use.inline:
                if use.index >= len(self.types):
                    raise self.c.error(f"unknown type {use.index}", use.index_at)
                if self.types[use.index].key != use.key:
                    raise self.c.error("inline function type does not match the type "
                                       f"{use.index} it refers to", use.index_at)
            return use.index
        key = use.key
        index = self.first_type.get(key)
        if index is None:
            index = len(self.types)
            self._add_type(TypeUse(params=list(key[0]), results=list(key[1])))
        return index

    def _add_type(self, use: TypeUse) -> None:
        self.first_type.setdefault(use.key, len(self.types))
        self.types.append(use)
        self.module.types.append(b"\x60" + vec(use.params) + vec(use.results))

    # ---- the module ------------------------------------------------------------------

    def parse(self) -> Module:
        """The module at the cursor: `(module $id? field*)` or bare fields up to the end."""
        c = self.c
        module_form = c.at_group("module")
        if module_form:
            end = c.toks.close[c.i]
            c.i += 2
            self.module.names.module = c.take_id()
        else:
            end = len(c.kinds) - 1  # the EOF token
        fields, stop = self._scan(c.i, end)
        for at in fields:  # explicit types first: implicit ones go after all of them
            if c.values[at + 1] == "type":
                c.i = at
                self._type()
        parsers = {"type": self._skip, "import": self._import, "func": self._func,
                   "table": self._table, "memory": self._memory, "global": self._global,
                   "export": self._export, "start": self._start, "elem": self._elem,
                   "data": self._data, "@custom": self._custom}
        for at in fields:
            c.i = at
            parsers[c.values[at + 1]]()
        c.i = stop
        if c.at(LP):
            raise c.unexpected(stop + 1)
        if module_form:
            c.close()
        if not c.at(EOF):
            raise c.unexpected()
        self._names()
        return self.module

    def _scan(self, start: int, end: int) -> tuple[list[int], int]:
        """The first pass: the start of every field, with its definitions numbered, and
        where the fields stop (`end`, or a token that starts no field: the second pass
        parses the fields before it first, so that errors come in the order of the text)."""
        c = self.c
        fields = []
        first_definition = None
        i = start
        while i < end:
            head = c.group(i)
            if head not in _FIELDS:
                return fields, i
            fields.append(i)
            kind, ident, imported, children = self._declaration(i, head)
            if kind is not None:
                if imported and first_definition is not None:
                    raise c.error(f"import after {_KIND_WORDS[first_definition]}", i)
                if not imported and first_definition is None:
                    first_definition = kind
                self.spaces[kind].define(c, ident, i)
                if kind == "table" and "elem" in children:
                    self.spaces["elem"].count += 1
                if kind == "memory":
                    if "data" in children:
                        self.spaces["data"].count += 1
                    self.is64.append(self._has_i64(children.get("", i)))
            elif head in ("type", "elem", "data"):
                self.spaces[head].define(c, ident, i)
            i = c.toks.after(i)
        return fields, end

    def _declaration(self, i: int, head: str) -> tuple[str | None, str | None, bool, dict]:
        """(space, id, imported?, direct children) of the field at `i`; space is None for
        fields that define nothing in the four import spaces."""
        c = self.c
        j = i + 2
        ident = c.values[j] if c.kinds[j] == ID else None
        if head == "import":
            k = j
            while c.kinds[k] == STR:
                k += 1
            desc = c.group(k)
            if desc in _EXTERN:
                inner = k + 2
                ident = c.values[inner] if c.kinds[inner] == ID else None
                return desc, ident, True, {"": inner}
            if desc == "tag":
                raise refuse(c, "exception handling", "tag import", k)
            return None, None, False, {}  # malformed: the second pass says where
        if head in _EXTERN:
            children = self._children(j)
            children[""] = j
            return head, ident, "import" in children, children
        if head == "tag":
            raise refuse(c, "exception handling", "tag", i + 1)
        if head == "rec":
            raise refuse(c, "GC", "rec", i + 1)
        return None, ident, False, {}  # type, elem, data, export, start

    def _children(self, j: int) -> dict[str, int]:
        """Heads of the parenthesized groups directly inside a field, from token j."""
        c = self.c
        found: dict[str, int] = {}
        while c.kinds[j] not in (RP, EOF):
            if c.kinds[j] == LP:
                head = c.group(j)
                if head is not None:
                    found.setdefault(head, j)
                j = c.toks.after(j)
            else:
                j += 1
        return found

    def _has_i64(self, j: int) -> bool:
        """Whether a memory's tokens from j (to its `)`) name the i64 address type."""
        c = self.c
        while c.kinds[j] not in (RP, EOF):
            if c.kinds[j] == LP:
                j = c.toks.after(j)
                continue
            if c.kinds[j] == KW and c.values[j] == "i64":
                return True
            j += 1
        return False

    # ---- fields ----------------------------------------------------------------------

    def _type(self) -> None:
        c = self.c
        c.open("type")
        c.take_id()
        word = c.group()
        if word in ("sub", "struct", "array"):
            raise refuse(c, "GC", f"{word} type", c.i + 1)
        use = functype(c, self.type_index)
        c.close()
        named = [(i, n) for i, n in enumerate(use.names) if n is not None]
        if named:
            self.module.names.params.append((len(self.types), named))
        self._add_type(use)

    def _skip(self) -> None:
        """A field the first pass has done all the work for."""
        self.c.skip_group()

    def _define(self, kind: str) -> int:
        index = self.next[kind]
        self.next[kind] += 1
        return index

    def _inline_exports(self, kind: str, index: int) -> None:
        c = self.c
        while c.at_group("export"):
            c.i += 2
            self._export_entry(c.name(), kind, index)
            c.close()

    def _export_entry(self, export_name: str, kind: str, index: int) -> None:
        self.module.exports.append(name(export_name) + bytes((_EXTERN[kind],)) + uleb(index))

    def _inline_import(self) -> bytes | None:
        """`(import "module" "name")` of an inline import: the entry's first part."""
        c = self.c
        if not c.at_group("import"):
            return None
        c.i += 2
        head = name(c.name()) + name(c.name())
        c.close()
        return head

    def _import(self) -> None:
        c = self.c
        c.open("import")
        head = name(c.name()) + name(c.name())
        kind = c.group()
        if kind not in _EXTERN:
            raise c.unexpected(c.i + 1 if c.at(LP) else c.i)
        c.i += 2
        index = self._define(kind)
        c.take_id()
        self._import_entry(head, kind, index)
        c.close()
        c.close()

    def _import_entry(self, head: bytes, kind: str, index: int) -> None:
        if kind == "func":
            use = typeuse(self.c, self.type_index, allow_names=True)
            desc = uleb(self.typeuse_index(use))
            named: NameMap = []
            seen: dict[str, int] = {}
            for i, ident in enumerate(use.names):  # wasm-tools keeps them, as local names
                self._local_name(seen, named, ident, i)
            if named:
                self.module.names.locals.append((index, named))
        elif kind == "table":
            desc = self._tabletype()
        elif kind == "memory":
            desc = self._memtype()
        else:
            desc = self._globaltype()
        self.module.imports.append(head + bytes((_EXTERN[kind],)) + desc)

    def _func(self) -> None:
        c = self.c
        c.open("func")
        c.take_id()
        index = self._define("func")
        self._inline_exports("func", index)
        head = self._inline_import()
        if head is not None:
            self._import_entry(head, "func", index)
            c.close()
            return
        use = typeuse(c, self.type_index, allow_names=True)
        type_index = self.typeuse_index(use)
        self.module.funcs.append(type_index)
        local_names: dict[str, int] = {}
        named: NameMap = []
        if use.inline:
            params: list[str | None] = use.names
        else:
            known = type_index < len(self.types)
            params = [None] * len(self.types[type_index].params) if known else []
        for i, ident in enumerate(params):
            self._local_name(local_names, named, ident, i)
        local_types: list[bytes] = []
        while c.at_group("local"):
            c.i += 2
            ident = c.take_id()
            if ident is not None:
                self._local_name(local_names, named, ident, len(params) + len(local_types))
                local_types.append(valtype(c, self.type_index))
            else:
                while not c.at(RP):
                    local_types.append(valtype(c, self.type_index))
            c.close()
        ep = ExprParser(self, local_names, in_function=True)
        body = ep.expression()
        self.module.codes.append(_locals(local_types) + body)
        if named and (use.inline or type_index < len(self.types)):
            self.module.names.locals.append((index, named))
        if ep.label_names:
            self.module.names.labels.append((index, ep.label_names))

    def _local_name(self, names: dict[str, int], named: NameMap, ident: str | None,
                    index: int) -> None:
        if ident is None:
            return
        if ident in names:
            raise self.c.error(f"duplicate local ${ident}", self.c.i - 1)
        names[ident] = index
        named.append((index, ident))

    def _table(self) -> None:
        c = self.c
        c.open("table")
        c.take_id()
        index = self._define("table")
        self._inline_exports("table", index)
        head = self._inline_import()
        if head is not None:
            self._import_entry(head, "table", index)
            c.close()
            return
        start = c.i
        is64 = address_type(c)
        if c.keyword() in ("funcref", "externref") or c.at_group("ref"):
            self._inline_elem(index, is64)
            c.close()
            return
        c.i = start
        table = self._tabletype()
        if not c.at(RP):  # an initializer (function references)
            table = b"\x40\x00" + table + ExprParser(self).expression()
            self.module.tables.append(table)
            return
        c.close()
        self.module.tables.append(table)

    def _inline_elem(self, table: int, is64: bool) -> None:
        """`(table $t? i64? reftype (elem ...))`: a table exactly as large as its elements,
        and an active segment at offset 0 (written with the table's index, as wasm-tools
        writes it)."""
        c = self.c
        elem_type = reftype(c, self.type_index)
        c.open("elem")
        if c.at(LP):
            items = self._elem_exprs()
            count = len(items)
            payload = elem_type + vec(items)
            flags = 0x06
        else:
            funcs = self._func_indices()
            count = len(funcs)
            if elem_type == _FUNCREF:
                payload, flags = b"\x00" + vec(funcs), 0x02
            else:  # other reference types take expressions
                payload, flags = elem_type + vec([b"\xd2" + f + b"\x0b" for f in funcs]), 0x06
        c.close()
        flag = 0x04 if is64 else 0x00
        self.module.tables.append(elem_type + limits_bytes(flag, count, count))
        offset = (b"\x42" if is64 else b"\x41") + b"\x00\x0b"
        self.module.elems.append(bytes((flags,)) + uleb(table) + offset + payload)

    def _func_indices(self) -> list[bytes]:
        funcs = []
        while self.c.kinds[self.c.i] in (ID, NUM):
            funcs.append(uleb(self.index("func")))
        return funcs

    def _elem_exprs(self) -> list[bytes]:
        """Element expressions: `(item instr*)` or a single folded instruction each."""
        c = self.c
        items = []
        while c.at(LP):
            ep = ExprParser(self)
            if c.at_group("item"):
                c.i += 2
                items.append(ep.expression())
            else:
                items.append(ep.folded_one())
        return items

    def _tabletype(self) -> bytes:
        c = self.c
        is64 = address_type(c)
        minimum, maximum = limits(c, 64 if is64 else 32)
        return reftype(c, self.type_index) + limits_bytes(0x04 if is64 else 0, minimum, maximum)

    def _memory(self) -> None:
        c = self.c
        c.open("memory")
        c.take_id()
        index = self._define("memory")
        self._inline_exports("memory", index)
        head = self._inline_import()
        if head is not None:
            self._import_entry(head, "memory", index)
            c.close()
            return
        start = c.i
        is64 = address_type(c)
        if c.at_group("data"):
            c.i += 2
            data = self._strings()
            c.close()
            pages = (len(data) + 0xFFFF) >> 16
            self.module.memories.append(limits_bytes(0x04 if is64 else 0, pages, pages))
            offset = (b"\x42" if is64 else b"\x41") + b"\x00\x0b"
            self._data_entry(index, offset, data)
        else:
            c.i = start
            self.module.memories.append(self._memtype())
        c.close()

    def _memtype(self) -> bytes:
        c = self.c
        is64 = address_type(c)
        minimum, maximum = limits(c, 64 if is64 else 32)
        flags = 0x04 if is64 else 0
        if c.take_keyword("shared"):
            flags |= 0x02
        if c.at_group("pagesize"):
            raise refuse(c, "custom page sizes", "pagesize", c.i + 1)
        return limits_bytes(flags, minimum, maximum)

    def _strings(self) -> bytes:
        parts = []
        while self.c.at(STR):
            parts.append(self.c.string())
        return b"".join(parts)

    def _global(self) -> None:
        c = self.c
        c.open("global")
        c.take_id()
        index = self._define("global")
        self._inline_exports("global", index)
        head = self._inline_import()
        if head is not None:
            self._import_entry(head, "global", index)
            c.close()
            return
        gt = self._globaltype()
        self.module.globals.append(gt + ExprParser(self).expression())

    def _globaltype(self) -> bytes:
        c = self.c
        if c.at_group("mut"):
            c.i += 2
            t = valtype(c, self.type_index) + b"\x01"
            c.close()
            return t
        return valtype(c, self.type_index) + b"\x00"

    def _export(self) -> None:
        c = self.c
        c.open("export")
        export_name = c.name()
        kind = c.group()
        if kind not in _EXTERN:
            if kind == "tag":
                raise refuse(c, "exception handling", "tag export", c.i + 1)
            raise c.unexpected(c.i + 1 if c.at(LP) else c.i)
        c.i += 2
        self._export_entry(export_name, kind, self.index(kind))
        c.close()
        c.close()

    def _start(self) -> None:
        c = self.c
        at = c.open("start")
        if self.module.start is not None:
            raise c.error("multiple start sections", at)
        self.module.start = self.index("func")
        c.close()

    def _elem(self) -> None:
        c = self.c
        c.open("elem")
        c.take_id()
        table_omitted = False
        table = None
        offset = None
        if c.take_keyword("declare"):
            mode = 0x03
        elif c.at(NUM) or (c.at(LP) and not c.at_group("ref")):
            mode = 0x00
            if c.at(NUM):  # `(elem 0 (offset ...) ...)`, an old form wasm-tools accepts
                table_omitted = True
                table = self.index("table")
            elif c.at_group("table"):
                c.i += 2
                table = self.index("table")
                c.close()
            else:
                table_omitted = True
            offset = self._offset()
        else:
            mode = 0x01
        funcs = exprs = None
        if c.take_keyword("func") or (table_omitted and not self._at_reftype()):
            funcs = vec(self._func_indices())
            elem_type = _FUNCREF
        else:
            elem_type = reftype(c, self.type_index)
            exprs = vec(self._elem_exprs())
        c.close()
        # The encoding wasm-tools (wasm-encoder) picks: the short forms (flags 0 and 4)
        # when the table is left out and the elements are funcref, else the forms with a
        # table index and an element kind or type.
        if funcs is not None:
            if mode == 0x00 and table is None:
                entry = b"\x00" + offset + funcs
            elif mode == 0x00:
                entry = b"\x02" + uleb(table) + offset + b"\x00" + funcs
            else:
                entry = bytes((mode,)) + b"\x00" + funcs
        elif mode == 0x00 and table is None and elem_type == _FUNCREF:
            entry = b"\x04" + offset + exprs
        elif mode == 0x00:
            entry = b"\x06" + uleb(table or 0) + offset + elem_type + exprs
        else:
            entry = bytes((mode | 0x04,)) + elem_type + exprs
        self.module.elems.append(entry)

    def _at_reftype(self) -> bool:
        return self.c.keyword() in ("funcref", "externref") or self.c.at_group("ref")

    def _offset(self) -> bytes:
        """`(offset instr*)` or a single folded instruction, as a constant expression."""
        c = self.c
        ep = ExprParser(self)
        if c.at_group("offset"):
            c.i += 2
            return ep.expression()
        return ep.folded_one()

    def _data(self) -> None:
        c = self.c
        c.open("data")
        c.take_id()
        if c.at(STR) or c.at(RP):
            data = self._strings()
            c.close()
            self.module.datas.append(b"\x01" + uleb(len(data)) + data)
            return
        memory = 0
        if c.at(NUM):
            memory = self.index("memory")
        elif c.at_group("memory"):
            c.i += 2
            memory = self.index("memory")
            c.close()
        offset = self._offset()
        data = self._strings()
        c.close()
        self._data_entry(memory, offset, data)

    def _data_entry(self, memory: int, offset: bytes, data: bytes) -> None:
        mode = b"\x00" if memory == 0 else b"\x02" + uleb(memory)
        self.module.datas.append(mode + offset + uleb(len(data)) + data)

    def _custom(self) -> None:
        """`(@custom "name" (before|after anchor)? "data"*)`, the annotation for a custom
        section (placed after the last section by default, as wasm-tools places it)."""
        c = self.c
        c.open("@custom")
        section_name = c.name()
        place = "after last"
        if c.at(LP):
            c.i += 1
            word = c.keyword()
            target = c.values[c.i + 1] if c.kinds[c.i + 1] == KW else None
            allowed = ("first",) if word == "before" else ("last",)
            if word not in ("before", "after") or (target not in ANCHORS
                                                   and target not in allowed):
                raise c.unexpected(c.i if word not in ("before", "after") else c.i + 1)
            place = f"{word} {target}"
            c.i += 2
            c.close()
        data = self._strings()
        c.close()
        self.module.customs.append((place, section(0, name(section_name) + data)))

    # ---- the name section ------------------------------------------------------------

    def _names(self) -> None:
        names = self.module.names
        spaces = self.spaces
        names.funcs = spaces["func"].names
        names.types = spaces["type"].names
        names.tables = spaces["table"].names
        names.memories = spaces["memory"].names
        names.globals = spaces["global"].names
        names.elems = spaces["elem"].names
        names.datas = spaces["data"].names


def _locals(types: list[bytes]) -> bytes:
    """Locals in runs of one type (count, type), as wasm-tools groups them."""
    runs: list[bytes] = []
    i = 0
    while i < len(types):
        j = i
        while j < len(types) and types[j] == types[i]:
            j += 1
        runs.append(uleb(j - i) + types[i])
        i = j
    return vec(runs)


__all__ = ["ModuleParser", "sleb"]
