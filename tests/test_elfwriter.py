"""aot's own ELF writer (aot.codegen.elfwriter): the shared object is well formed for
readelf, file, the dynamic loader and the unwinder; every relocation lands where it
should (checked with an independent decoder, for x86-64 and AArch64); the output is
deterministic; and compiling needs no system tool at all."""

from __future__ import annotations

import ctypes
import io
import os
import shutil
import site
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.relocation import RelocationSection

import aot
from aot.codegen.elfwriter import UndefinedSymbolError, write_shared_object
from aot.codegen.link import link_shared_object
from aot.elf import ArtifactFile, stackmaps
from aot.errors import AotError
from tests.conftest import wat
from tests.elfwriter_support import (
    AARCH64,
    AARCH64_FIELDS,
    X86_64,
    aarch64_target,
    i32,
    ir_object,
    readelf,
    u32,
    u64,
    wasm_object,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "example.wasm"

MODULE = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory 1) (table 4 funcref)
  (global $g (mut i32) (i32.const 5))
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $pick (export "pick") (param i32 i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))
  (func (export "switch") (param i32) (result i32)
    (block (block (block (block (br_table 0 1 2 3 (local.get 0)))
      (return (i32.const 10))) (return (i32.const 11))) (return (i32.const 12)))
    (i32.const 13))
  (func (export "sw8") (param i32) (result i32)
    (block (block (block (block (block (block (block (block
      (br_table 0 1 2 3 4 5 6 7 (local.get 0)))
      (return (i32.const 100))) (return (i32.const 31))) (return (i32.const 2)))
      (return (i32.const 53))) (return (i32.const 4))) (return (i32.const 75)))
      (return (i32.const 6))) (return (i32.const 97)))
  (func (export "f") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 1.1)))
  (func (export "host") (param i32) (result i32) (call $h (local.get 0)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "trap") (unreachable))
  (func (export "g") (result i32) (global.get $g))
  (elem (i32.const 0) $sq $pick)
  (data (i32.const 16) "hello"))"""


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _elf(data: bytes) -> ELFFile:
    return ELFFile(io.BytesIO(data))


@pytest.fixture(scope="module")
def x86_object() -> bytes:
    return wasm_object(MODULE)


@pytest.fixture(scope="module")
def a64_object() -> bytes:
    return wasm_object(MODULE, AARCH64)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory, x86_object, a64_object) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("elfwriter")
    return {
        "x86-64": _write(tmp, "x86.so", write_shared_object(x86_object)),
        "x86-64 -O0": _write(tmp, "x86-O0.so", write_shared_object(wasm_object(MODULE, opt_level=0))),
        "aarch64": _write(tmp, "a64.so", write_shared_object(a64_object)),
        "aarch64 -O0": _write(tmp, "a64-O0.so",
                              write_shared_object(wasm_object(MODULE, AARCH64, opt_level=0))),
        "example": _write(tmp, "example.so", aot.compiler.compile_artifact(EXAMPLE)),
    }


# --- well-formed ---------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
@pytest.mark.parametrize("which", ["x86-64", "x86-64 -O0", "aarch64", "aarch64 -O0", "example"])
def test_readelf_has_no_complaint(artifacts, which):
    proc = readelf(str(artifacts[which]), "-a", "--debug-dump=frames")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "warning" not in proc.stdout.lower()
    assert "DYN (Shared object file)" in proc.stdout


@pytest.mark.skipif(shutil.which("file") is None, reason="the `file` command is not installed")
@pytest.mark.parametrize(("which", "machine"), [("x86-64", "x86-64"), ("aarch64", "ARM aarch64")])
def test_file_says_shared_object(artifacts, which, machine):
    out = subprocess.run(["file", str(artifacts[which])], capture_output=True, text=True).stdout
    assert "ELF 64-bit LSB shared object" in out and machine in out


@pytest.mark.parametrize(("which", "machine", "page"), [("x86-64", "EM_X86_64", 0x1000),
                                                         ("aarch64", "EM_AARCH64", 0x10000)])
def test_headers_segments_and_sections(artifacts, which, machine, page):
    with open(artifacts[which], "rb") as f:
        elf = ELFFile(f)
        assert elf["e_type"] == "ET_DYN" and elf["e_machine"] == machine
        phdrs = list(elf.iter_segments())
        loads = [p for p in phdrs if p["p_type"] == "PT_LOAD"]
        # R, R+X, RELRO (.dynamic: R+W for old dynamic loaders, then read-only), R+W
        # (`aot_pyapi`)
        assert [p["p_flags"] for p in loads] == [4, 5, 6, 6]
        for p in loads:
            assert p["p_align"] == page
            assert p["p_offset"] % page == p["p_vaddr"] % page
        for a, b in zip(loads, loads[1:]):  # pages of their own (`aot.loader.mapping`)
            assert (a["p_vaddr"] + a["p_memsz"] - 1) // page < b["p_vaddr"] // page
        assert loads[0]["p_offset"] == 0  # maps the headers
        assert [p["p_vaddr"] for p in loads] == sorted(p["p_vaddr"] for p in loads)
        by_type = {p["p_type"]: p for p in phdrs}
        assert by_type["PT_GNU_STACK"]["p_flags"] == 6  # RW, not executable
        hdr = elf.get_section_by_name(".eh_frame_hdr")
        assert by_type["PT_GNU_EH_FRAME"]["p_vaddr"] == hdr["sh_addr"]
        dynamic = elf.get_section_by_name(".dynamic")
        assert by_type["PT_DYNAMIC"]["p_vaddr"] == dynamic["sh_addr"]
        relro = by_type["PT_GNU_RELRO"]
        assert relro["p_vaddr"] == loads[2]["p_vaddr"]
        assert (relro["p_vaddr"] + relro["p_memsz"]) % page == 0  # glibc protects whole pages
        flags = {s.name: s["sh_flags"] for s in elf.iter_sections()}
        assert flags[".bss"] == 3  # WA: the CPython table the loader fills
        assert flags[".text"] == 6  # AX
        assert flags[".rodata"] == flags[".eh_frame"] == flags[".eh_frame_hdr"] == 2  # A
        assert flags[".dynamic"] == 3  # WA
        assert ".data.rel.ro" not in flags  # the vtable holds offsets: nothing to relocate
        note = by_type["PT_NOTE"]  # where the vtable is, among the first bytes read
        assert note["p_offset"] == elf.get_section_by_name(".note.aot")["sh_offset"] < 1024
        for name in (".dynsym", ".dynstr", ".gnu.hash", ".symtab", ".strtab", ".shstrtab"):
            assert name in flags
        # Every allocated section lies in the PT_LOAD of its permissions.
        for sec in elf.iter_sections():
            if sec["sh_flags"] & 2 and sec["sh_size"]:
                want = 4 | (1 if sec["sh_flags"] & 4 else 0) | (2 if sec["sh_flags"] & 1 else 0)
                seg = [p for p in loads if p["p_vaddr"] <= sec["sh_addr"] < p["p_vaddr"] + p["p_memsz"]]
                assert len(seg) == 1 and seg[0]["p_flags"] == want, sec.name


def test_symtab_keeps_every_function_with_its_size(x86_object, artifacts):
    def functions(elf):
        return {(s.name, s["st_size"]) for s in elf.get_section_by_name(".symtab").iter_symbols()
                if s["st_info"]["type"] == "STT_FUNC"}

    with open(artifacts["x86-64"], "rb") as f:
        out = ELFFile(f)
        assert functions(out) == functions(_elf(x86_object))
        text = out.get_section_by_name(".text")
        for sym in out.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] == "STT_FUNC":
                assert text["sh_addr"] <= sym["st_value"] < text["sh_addr"] + text["sh_size"]
                assert sym["st_info"]["bind"] == "STB_LOCAL"


@pytest.mark.parametrize("which", ["x86-64", "x86-64 -O0", "aarch64", "example"])
def test_the_only_dynamic_symbol_is_the_vtable(artifacts, which):
    """No imports: compiled code reaches libc (memory.copy, memory.fill, table.copy use
    memmove/memset) only through the VMContext builtin table."""
    with ArtifactFile(str(artifacts[which])) as art:
        assert art.dynamic_symbols == ["aot_vtable"]


# --- unwinding -----------------------------------------------------------------------

@pytest.mark.parametrize("which", ["x86-64", "x86-64 -O0", "aarch64", "aarch64 -O0", "example"])
def test_eh_frame_hdr_is_a_sorted_table_of_every_fde(artifacts, which):
    with ArtifactFile(str(artifacts[which])) as art:
        assert art.functions and art.functions_without_unwind() == []
        hdr = art.elf.get_section_by_name(".eh_frame_hdr")
        eh = art.elf.get_section_by_name(".eh_frame")
        data, base = hdr.data(), hdr["sh_addr"]
        version, ptr_enc, count_enc, table_enc = data[:4]
        assert (version, ptr_enc, count_enc, table_enc) == (1, 0x1B, 0x03, 0x3B)
        assert base + 4 + i32(data, 4) == eh["sh_addr"]
        count = u32(data, 8)
        table = [(base + i32(data, 12 + 8 * i), base + i32(data, 16 + 8 * i)) for i in range(count)]
        assert table == sorted(table)
        # The same FDEs pyelftools finds walking .eh_frame, at the same addresses.
        fdes = sorted((e.start, e.size) for e in art.unwind_entries)
        assert [start for start, _ in table] == [start for start, _ in fdes]
        for start, fde_addr in table:
            fde = eh.data()[fde_addr - eh["sh_addr"]:]
            pc_begin = fde_addr + 8 + i32(fde, 8)  # pcrel sdata4 after length and CIE pointer
            assert pc_begin == start


def test_the_unwinder_walks_through_compiled_frames(tmp_path, monkeypatch):
    """glibc's backtrace() (libgcc's unwinder, through PT_GNU_EH_FRAME) from a host
    function called by wasm: it must get through the artifact's frames to the caller.
    The unwinder finds code through the dynamic loader: `AOT_LOADER=dlopen`, the mode
    for native tools (`aot.loader.mapping`)."""
    monkeypatch.setenv("AOT_LOADER", "dlopen")
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "backtrace"):
        pytest.skip("the C library has no backtrace()")

    class DlInfo(ctypes.Structure):
        _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                    ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]

    frames: list[int] = []

    def host(x):
        buf = (ctypes.c_void_p * 256)()
        frames.extend(buf[: libc.backtrace(buf, 256)])
        return x

    path = tmp_path / "bt.so"
    aot.compile_file(wat(MODULE), path)
    inst = aot.load(path).instantiate({"env": {"h": host}})
    assert inst.exports.host(7) == 7
    info = DlInfo()
    owners = []
    for pc in frames:
        assert libc.dladdr(ctypes.c_void_p(pc), ctypes.byref(info))
        owners.append((os.fsdecode(info.fname or b""), pc - (info.fbase or 0)))
    ours = [i for i, (name, _) in enumerate(owners) if name == str(path)]
    assert ours, "no frame of the artifact in the backtrace"
    assert len(owners) - ours[-1] > 3, "the unwinder stopped in the artifact"
    with ArtifactFile(str(path)) as art:
        names = {next(f.name for f in art.functions if f.address <= off < f.address + f.size)
                 for name, off in owners if name == str(path)}
    # The outermost frame of the artifact: the cffi or the compiled Python entry.
    assert any(n.startswith(("aot_entry_t", "aot_pyentry_t")) for n in names), names


# --- relocations ---------------------------------------------------------------------

def _input_section_addresses(obj: ELFFile, out: ELFFile) -> dict[int, int]:
    """Where each input section went, from named symbols (or the output section of the
    same name), without asking the writer."""
    out_syms = {}
    for s in out.get_section_by_name(".symtab").iter_symbols():
        if s.name and s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT"):
            out_syms.setdefault(s.name, s["st_value"])
    addrs: dict[int, int] = {}
    for s in obj.get_section_by_name(".symtab").iter_symbols():
        if s.name in out_syms and isinstance(s["st_shndx"], int):
            addrs.setdefault(s["st_shndx"], out_syms[s.name] - s["st_value"])
    # Other sections: concatenated in input order into the output section named after
    # them (.rodata.cst8 into .rodata), as ld's default script does.  Cross-checked with
    # the symbols where there are some.
    ends: dict[str, int] = {}
    for index, sec in enumerate(obj.iter_sections()):
        if not sec["sh_flags"] & 2:
            continue
        name = next((p for p in (".text", ".rodata", ".data.rel.ro", ".init_array")
                     if sec.name == p or sec.name.startswith(p + ".")), sec.name)
        start = out.get_section_by_name(name)
        if start is None:
            continue
        align = max(sec["sh_addralign"], 1)
        offset = -(-ends.get(name, 0) // align) * align
        ends[name] = offset + sec["sh_size"]
        assert addrs.setdefault(index, start["sh_addr"] + offset) == start["sh_addr"] + offset
    return addrs


def _read(out: ELFFile, data: bytes, addr: int, size: int) -> bytes:
    for sec in out.iter_sections():
        if sec["sh_flags"] & 2 and sec["sh_addr"] <= addr < sec["sh_addr"] + sec["sh_size"]:
            off = sec["sh_offset"] + addr - sec["sh_addr"]
            return data[off:off + size]
    raise AssertionError(f"0x{addr:x} is in no section")


def _check_relocations(obj_bytes: bytes, so_bytes: bytes) -> dict[str, int]:
    """Recompute every relocation of allocated input sections and compare with the output;
    returns how many of each type were checked."""
    obj, out = _elf(obj_bytes), _elf(so_bytes)
    aarch64 = obj["e_machine"] == "EM_AARCH64"
    addrs = _input_section_addresses(obj, out)
    rela = out.get_section_by_name(".rela.dyn")
    relative = {r["r_offset"]: r["r_addend"] for r in (rela.iter_relocations() if rela else ())
                if r["r_info_type"] in (8, 1027)}
    symtab = obj.get_section_by_name(".symtab")
    checked: dict[str, int] = {}
    for rel in obj.iter_sections():
        if not isinstance(rel, RelocationSection):
            continue
        target = obj.get_section(rel["sh_info"])
        if not target["sh_flags"] & 2 or rel["sh_info"] not in addrs:
            continue
        for r in rel.iter_relocations():
            sym = symtab.get_symbol(r["r_info_sym"])
            p = addrs[rel["sh_info"]] + r["r_offset"]
            t, a = r["r_info_type"], r["r_addend"]
            if sym["st_shndx"] == "SHN_UNDEF":
                continue  # an import: checked by the tests that run it
            if sym["st_shndx"] not in addrs:
                continue  # in a section the helper cannot place (e.g. .rodata.cst16)
            s = addrs[sym["st_shndx"]] + (0 if sym["st_info"]["type"] == "STT_SECTION" else sym["st_value"])
            if t in (1, 257):  # R_X86_64_64, R_AARCH64_ABS64: a RELATIVE relocation
                assert relative[p] == s + a and u64(_read(out, so_bytes, p, 8), 0) == s + a
            elif t in (2, 4, 261):  # PC32, PLT32, PREL32
                assert p + i32(_read(out, so_bytes, p, 4), 0) == s + a, hex(p)
            elif t in (24, 260):  # PC64, PREL64: the vtable's offsets
                assert (p + u64(_read(out, so_bytes, p, 8), 0)) % 2**64 == s + a, hex(p)
            elif aarch64 and t in AARCH64_FIELDS:
                kind, holds = AARCH64_FIELDS[t]
                decoded = aarch64_target(u32(_read(out, so_bytes, p, 4), 0), p, kind)
                if holds == "GOT":
                    continue  # see test_got_on_aarch64_holds_the_symbol_address
                if kind == "page":
                    assert decoded == (s + a) & ~0xFFF
                elif kind.startswith("lo12"):
                    assert decoded == (s + a) & 0xFFF
                else:
                    assert decoded == s + a
            else:
                raise AssertionError(f"relocation type {t} not checked")
            checked[str(t)] = checked.get(str(t), 0) + 1
    return checked


@pytest.mark.parametrize("opt_level", [0, 2])
@pytest.mark.parametrize("triple", [None, AARCH64])
def test_every_relocation_lands_where_it_should(triple, opt_level):
    obj = wasm_object(MODULE, triple, opt_level)
    checked = _check_relocations(obj, write_shared_object(obj))
    assert sum(checked.values()) > 10
    if triple == AARCH64 and opt_level == 2:
        assert {"260", "261", "275", "277", "283", "286"} <= set(checked), checked


@pytest.mark.parametrize("which", ["example", "aarch64"])
def test_an_artifact_needs_no_load_time_relocation(artifacts, which):
    """The vtable and its tables hold offsets the linker fixes (`aot.abi.artifact`):
    nothing for a dynamic loader to do, so aot's loader only maps the file."""
    with open(artifacts[which], "rb") as f:
        elf = ELFFile(f)
        rela = elf.get_section_by_name(".rela.dyn")
        assert rela is None or rela["sh_size"] == 0
        tags = {t.entry.d_tag for t in elf.get_section_by_name(".dynamic").iter_tags()}
        for tag in ("DT_RELA", "DT_REL", "DT_JMPREL", "DT_TEXTREL", "DT_NEEDED", "DT_INIT",
                    "DT_INIT_ARRAY"):
            assert tag not in tags


@pytest.mark.skipif(shutil.which("ld") is None, reason="no system linker to compare with")
def test_as_many_load_time_relocations_as_the_system_linker(x86_object, monkeypatch):
    def relocations(so: bytes) -> list[str]:
        elf = _elf(so)
        return sorted(r["r_info_type"] for name in (".rela.dyn", ".rela.plt")
                      if elf.get_section_by_name(name) is not None
                      for r in elf.get_section_by_name(name).iter_relocations())

    monkeypatch.setenv("AOT_LINKER", "system")
    theirs = relocations(link_shared_object(x86_object))
    monkeypatch.delenv("AOT_LINKER")
    ours = relocations(link_shared_object(x86_object))
    # The same RELATIVE ones; the imports' GLOB_DAT here are JUMP_SLOT (lazy PLT) there.
    assert ours == sorted(6 if t == 7 else t for t in theirs)


IMPORT_IR = """
declare ptr @memmove(ptr, ptr, i64)
declare ptr @memset(ptr, i32, i64)
define ptr @copy(ptr %d, ptr %s, i64 %n) { %r = call ptr @memmove(ptr %d, ptr %s, i64 %n)
  ret ptr %r }
define ptr @fill(ptr %d, i64 %n) { %r = call ptr @memset(ptr %d, i32 0, i64 %n)
  ret ptr %r }
"""


@pytest.mark.parametrize("triple", [X86_64, AARCH64])
def test_allowed_imports_go_through_a_stub_and_the_got(triple):
    """The writer can still bind named imports from the process (for callers that allow
    them; aot's own artifacts allow none)."""
    obj = ir_object(IMPORT_IR, triple)
    with pytest.raises(UndefinedSymbolError, match="memmove|memset"):
        write_shared_object(obj)
    data = write_shared_object(obj, allowed_imports={"memmove", "memset"})
    out = _elf(data)
    dynsym = [s.name for s in out.get_section_by_name(".dynsym").iter_symbols()]
    glob_dat = {r["r_offset"]: dynsym[r["r_info_sym"]]
                for r in out.get_section_by_name(".rela.dyn").iter_relocations()
                if r["r_info_type"] in (6, 1025)}
    assert sorted(glob_dat.values()) == ["memmove", "memset"]
    stubs = out.get_section_by_name(".plt.got")
    assert stubs["sh_flags"] == 6
    for i, name in enumerate(("memmove", "memset")):
        if triple == AARCH64:
            stub = stubs["sh_addr"] + 16 * i
            code = _read(out, data, stub, 16)
            page = aarch64_target(u32(code, 0), stub, "page")
            slot = page + aarch64_target(u32(code, 4), stub + 4, "lo12:3")
            assert u32(code, 8) == 0xD61F0220  # br x17
        else:
            stub = stubs["sh_addr"] + 8 * i
            code = _read(out, data, stub, 8)
            assert code[:2] == b"\xff\x25"  # jmp *disp32(%rip)
            slot = stub + 6 + i32(code, 2)
        assert glob_dat[slot] == name


GOT_IR = """
@g = global i32 42
@h = global [4 x i64] [i64 1, i64 2, i64 3, i64 4]
define ptr @addr_g() { ret ptr @g }
define i32 @get_g() { %v = load i32, ptr @g
  ret i32 %v }
define i64 @get_h2() { %p = getelementptr [4 x i64], ptr @h, i64 0, i64 2
  %v = load i64, ptr %p
  ret i64 %v }
"""


def _retype_relocations(obj: bytes, old: set[int], new: int) -> bytes:
    """The object with relocation types `old` turned into `new` (in place, same layout)."""
    out = bytearray(obj)
    for sec in _elf(obj).iter_sections():
        if isinstance(sec, RelocationSection):
            for i, r in enumerate(sec.iter_relocations()):
                if r["r_info_type"] in old:
                    pos = sec["sh_offset"] + 24 * i + 8
                    struct.pack_into("<I", out, pos, new)
    return bytes(out)


@pytest.mark.skipif(sys.platform != "linux" or os.uname().machine != "x86_64", reason="runs x86-64 code")
@pytest.mark.parametrize("relax", [True, False])
def test_got_loads_of_preemptible_globals(tmp_path, relax):
    """Default-visibility globals are reached through the GOT in PIC code: relaxed to
    lea (REX_GOTPCRELX), or, for plain GOTPCREL, a GOT slot with a RELATIVE relocation."""
    obj = ir_object(GOT_IR)
    types = {r["r_info_type"] for s in _elf(obj).iter_sections() if isinstance(s, RelocationSection)
             for r in s.iter_relocations()}
    assert types & {41, 42}, types
    if not relax:
        obj = _retype_relocations(obj, {41, 42}, 9)  # R_X86_64_GOTPCREL
    so = write_shared_object(obj)
    assert (_elf(so).get_section_by_name(".got") is None) == relax
    path = _write(tmp_path, "got.so", so)
    lib = ctypes.CDLL(str(path))
    lib.addr_g.restype = ctypes.c_void_p
    lib.get_h2.restype = ctypes.c_int64
    assert lib.addr_g() == ctypes.addressof(ctypes.c_int.in_dll(lib, "g"))
    assert lib.get_g() == 42
    assert lib.get_h2() == 3


def test_got_on_aarch64_holds_the_symbol_address():
    obj = ir_object(GOT_IR, AARCH64)
    so = write_shared_object(obj)
    out = _elf(so)
    got = out.get_section_by_name(".got")
    relative = {r["r_offset"]: r["r_addend"] for r in out.get_section_by_name(".rela.dyn").iter_relocations()}
    syms = {s.name: s["st_value"] for s in out.get_section_by_name(".symtab").iter_symbols()}
    # addr_g: adrp x0, :got:g; ldr x0, [x0, :got_lo12:g]; ret
    code = _read(out, so, syms["addr_g"], 8)
    slot = aarch64_target(u32(code, 0), syms["addr_g"], "page") + aarch64_target(u32(code, 4), 0, "lo12:3")
    assert got["sh_addr"] <= slot < got["sh_addr"] + got["sh_size"]
    assert relative[slot] == syms["g"] == u64(_read(out, so, slot, 8), 0)


def test_many_exports_are_found_through_gnu_hash(tmp_path):
    names = [f"sym_{i}_{'x' * (i % 7)}" for i in range(300)]
    ir = "\n".join(f"@{n} = global i64 {i}" for i, n in enumerate(names))
    path = _write(tmp_path, "many.so", write_shared_object(ir_object(ir)))
    lib = ctypes.CDLL(str(path))
    for i, n in enumerate(names):
        assert ctypes.c_int64.in_dll(lib, n).value == i
    with pytest.raises((AttributeError, ValueError)):
        ctypes.c_int64.in_dll(lib, "sym_not_there")


def test_init_array_runs_at_load(tmp_path):
    ir = """
@counter = global i32 0
define internal void @ctor() { store i32 7, ptr @counter
  ret void }
@llvm.global_ctors = appending global [1 x { i32, ptr, ptr }] [{ i32, ptr, ptr } { i32 65535, ptr @ctor, ptr null }]
"""
    path = _write(tmp_path, "ctor.so", write_shared_object(ir_object(ir)))
    lib = ctypes.CDLL(str(path))
    assert ctypes.c_int.in_dll(lib, "counter").value == 7


def test_other_sections_are_kept():
    """LLVM's stack maps (allocated, but full of absolute addresses: kept as a file-only
    section with its addresses resolved at link time, so no dynamic relocation) and a
    non-allocated section (.comment)."""
    obj = ir_object("""
declare void @llvm.experimental.stackmap(i64, i32, ...)
define void @f(i64 %x) {
  call void (i64, i32, ...) @llvm.experimental.stackmap(i64 7, i32 0, i64 %x)
  ret void
}
!llvm.ident = !{!0}
!0 = !{!"aot elfwriter test"}
""")
    so = write_shared_object(obj)
    out = _elf(so)
    maps = out.get_section_by_name(".llvm_stackmaps")
    assert maps["sh_flags"] & 2 == 0  # not SHF_ALLOC
    assert out.get_section_by_name(".rela.dyn") is None
    f_addr = next(s["st_value"] for s in out.get_section_by_name(".symtab").iter_symbols() if s.name == "f")
    (function,) = stackmaps.parse(maps.data())
    assert function.address == f_addr and function.records[0].id == 7
    comment = out.get_section_by_name(".comment")
    assert comment["sh_flags"] & 2 == 0 and b"aot elfwriter test" in comment.data()


@pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")
def test_gdb_unwinds_through_compiled_frames(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import os, signal, sys, aot\n"
        "inst = aot.load(sys.argv[1]).instantiate({'env': {'h': lambda x: "
        "os.kill(os.getpid(), signal.SIGTRAP) or x}})\n"
        "print(inst.exports.host(3))\n"
    )
    so = tmp_path / "m.so"
    aot.compile_file(wat(MODULE), so)
    proc = subprocess.run(
        ["gdb", "-batch", "-nx", "-ex", "run", "-ex", "bt", "--args", sys.executable, str(script), str(so)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "AOT_LOADER": "dlopen"},
    )
    frames = [line for line in proc.stdout.splitlines() if line.startswith("#")]
    names = " ".join(frames)
    assert "aot_entry_t" in names and "aot_wasm_call_f" in names, proc.stdout + proc.stderr
    last = max(i for i, line in enumerate(frames) if "aot_entry_t" in line)
    assert len(frames) - last > 3, "gdb stopped unwinding in the artifact"
    assert "Backtrace stopped" not in proc.stdout


# --- errors --------------------------------------------------------------------------

def test_an_undefined_symbol_is_an_error_naming_it():
    obj = ir_object("""
declare void @aot_some_runtime_function()
define void @f() { call void @aot_some_runtime_function()
  ret void }""")
    with pytest.raises(UndefinedSymbolError, match="aot_some_runtime_function") as info:
        write_shared_object(obj)
    assert isinstance(info.value, AotError)


def test_a_non_pic_object_is_refused():
    # R_X86_64_32S in code: an absolute 32-bit address, which no load address can satisfy.
    obj = _retype_relocations(ir_object(GOT_IR, X86_64), {41, 42}, 11)
    with pytest.raises(AotError, match="R_X86_64_32S"):
        write_shared_object(obj)


def test_not_an_object_is_refused():
    with pytest.raises(AotError):
        write_shared_object(b"\x7fELF" + bytes(60))
    so = write_shared_object(ir_object("@x = global i32 1"))
    with pytest.raises(AotError, match="ET_REL"):
        write_shared_object(so)


def test_linker_choice(monkeypatch, x86_object):
    monkeypatch.setenv("AOT_LINKER", "bogus")
    with pytest.raises(AotError, match="AOT_LINKER"):
        link_shared_object(x86_object)
    monkeypatch.setenv("AOT_LINKER", "aot")
    assert link_shared_object(x86_object) == write_shared_object(x86_object)


# --- running, determinism, speed, independence ----------------------------------------

def test_artifact_runs(tmp_path):
    calls = []
    path = tmp_path / "m.so"
    aot.compile_file(wat(MODULE), path)
    inst = aot.load(path).instantiate({"env": {"h": lambda x: calls.append(x) or x + 1}})
    e = inst.exports
    assert e.pick(0, 7) == 49  # table entry 0 is $sq
    assert [e.switch(i) for i in range(5)] == [10, 11, 12, 13, 13]
    assert [e.sw8(i) for i in range(9)] == [100, 31, 2, 53, 4, 75, 6, 97, 97]
    assert e.f(2.0) == 2.0 * 1.1
    assert e.host(41) == 42 and calls == [41]
    assert e.g() == 5
    e.fill(100, 0xAB, 8)
    e.copy(104, 16, 5)  # "hello" over the second half of the fill
    assert e.load(100) & 0xFFFFFFFF == 0xABABABAB
    assert e.load(104) == int.from_bytes(b"hell", "little")
    with pytest.raises(aot.Trap):
        e.trap()


def test_output_is_deterministic(x86_object, a64_object):
    assert write_shared_object(x86_object) == write_shared_object(x86_object)
    assert write_shared_object(a64_object) == write_shared_object(a64_object)
    # And across processes with different string hashing.
    script = ("import sys, hashlib; from aot.codegen.elfwriter import write_shared_object; "
              "print(hashlib.sha256(write_shared_object(sys.stdin.buffer.read())).hexdigest())")
    digests = {
        subprocess.run([sys.executable, "-c", script], input=x86_object, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


SHF_GNU_RETAIN = 0x200000


def test_no_section_asks_to_be_retained(x86_object, a64_object):
    """LLVM marks llvm.used globals SHF_GNU_RETAIN through a set its TargetMachine keeps
    across modules: a later module's global at a freed one's address was marked too and
    moved to a section of its own. Nothing may use llvm.used."""
    for obj in (x86_object, a64_object):
        elf = _elf(obj)
        assert [s.name for s in elf.iter_sections() if s["sh_flags"] & SHF_GNU_RETAIN] == []
        assert elf.get_section_by_name(".note.aot") is not None  # kept all the same


def test_a_long_lived_process_compiles_the_same_object_each_time():
    # One TargetMachine serves every compile of a process (aot.codegen.emit); with
    # llvm.used, 1 compile in 11 of this module differed from the others.
    assert len({wasm_object(MODULE) for _ in range(16)}) == 1


def test_compiling_needs_no_system_tool(tmp_path):
    """With a PATH where only python exists (no cc, gcc, ld, readelf), compile and run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    wasm = tmp_path / "m.wasm"
    wasm.write_bytes(wat(MODULE))
    script = (
        "import shutil, sys, aot\n"
        "assert not any(shutil.which(t) for t in ('cc', 'gcc', 'ld', 'ld.lld', 'ld.bfd', 'ld.gold'))\n"
        "inst = aot.compile(sys.argv[1]).instantiate({'env': {'h': lambda x: x}})\n"
        "assert inst.exports.pick(0, 9) == 81\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AOT_LINKER"}
    env["PATH"] = str(bin_dir)
    # The symlink is outside the venv, so its site-packages must be named explicitly.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *site.getsitepackages()])
    proc = subprocess.run([str(bin_dir / "python"), "-c", script, str(wasm)], env=env,
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
