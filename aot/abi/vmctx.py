"""The VMContext layout: the one definition of every field offset that compiled code and
the loader share (wasmtime's `VMOffsets`).

Memory picture of one instance (all fields 8-byte aligned, little-endian):

    VMContext                          one per instance, allocated by the loader
      +0   magic        u32  VMCTX_MAGIC (sanity check when a pointer comes back from wasm)
      +8   store_ctx    VMStoreContext*  shared by every instance of a Store
      +16  builtins     void**           runtime helper table (see `Builtin`)
      +24  reserved     u64
      +32  type_ids     u32[n_types]     canonical (process-wide) id of each module type
      ...  memories     VMMemoryDefinition*[n_memories]   imported ones point at the exporter's
      ...  tables       VMTableDefinition*[n_tables]
      ...  globals      VMGlobalDefinition*[n_globals]    (16-byte value slots)
      ...  func_refs    VMFuncRef[n_funcs]                one record per function index
      ...  data_lengths u64[n_datas]    bytes left of each data segment (0 once dropped)
      ...  elem_lengths u64[n_elems]    elements left of each element segment (0 once dropped)
      ...  elem_items   void*[n_passive_elem_items]   the evaluated items of passive element
                                        segments, segment after segment

    VMStoreContext                     one per Store
      +0   stack_limit     u64   lowest sp wasm may use; 0 while no wasm is on the stack
      +8   jmp_buf         void* innermost entry trampoline's activation record (below)
      +16  trap_code       u32   set just before unwinding to jmp_buf
      +24  max_wasm_stack  u64   bytes of native stack the outermost entry grants wasm
      +32  fuel            i64   fuel consumed minus fuel granted: wasm traps once >= 0
      +40  interrupt       u64   (reserved)
      +48  trap_offset     u64   the trapping instruction's site (`aot.abi.traps.trap_site`)
      +56  backtrace       u64*  return addresses of the trapping frames (or null: off)
      +64  backtrace_len   u64   how many were recorded (at most MAX_BACKTRACE)
      +72  last_exit_fp    u64   frame address of the innermost host-call trampoline that
                                 is calling out of wasm (0: none), where a stack walk of the
                                 wasm frames starts (the collector's, `aot.loader.gc`)

    Activation record, one per entry trampoline on the stack (`Activation`): the
    [5 x ptr] buffer llvm.eh.sjlj.setjmp fills ([0] the entry's frame address, where
    its wasm frames end), then the enclosing activation's record and its last_exit_fp,
    saved at entry: the chain the collector follows through host -> wasm -> host calls.

    VMFuncRef { wasm_call: fn*, type_id: u64 (u32 used), vmctx: void* }   24 bytes
      - `wasm_call` has the wasm-call ABI of `aot.abi.signatures`; `vmctx` is its callee
        vmctx (a VMContext for wasm functions, a VMHostContext for host functions).
      - a funcref value, in tables and on the stack, is a `VMFuncRef*` (null = ref.null).

    VMMemoryDefinition { base: u8*, length: u64 (bytes) }
    VMTableDefinition  { base: void**, length: u64 (elements) }
    VMGlobalDefinition = ValRaw (16 bytes)
    VMHostContext      { magic u32 HOST_MAGIC, callback: fn*, func_id: u64,
                         py_callable, py_on_error, py_results: PyObject* (`aot.abi.pyapi`;
                         null py_callable: the trampoline calls `callback`) }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

POINTER_SIZE = 8

# Address space every linear memory reserves: `zext(addr) + offset + width` of a 32-bit
# memory stays below 2**33 + 16, so guard-mode code needs no bounds checks at all.
MEMORY_RESERVATION = 2**33 + 2**16
VALRAW_SIZE = 16  # one value slot: big enough for v128

VMCTX_MAGIC = 0x564D_4F41  # "AOMV"
HOST_MAGIC = 0x484F_5341  # "ASOH"


# Written into `stack_limit` by an interrupt: every function-entry stack check then fails,
# and loop headers compare the limit with it (the original wasmtime design).
INTERRUPT_SENTINEL = 2**64 - 1 - 32 * 1024


class StoreCtx:
    """Offsets in VMStoreContext."""

    STACK_LIMIT = 0
    JMP_BUF = 8
    TRAP_CODE = 16
    MAX_WASM_STACK = 24
    FUEL = 32
    INTERRUPT = 40
    TRAP_OFFSET = 48
    BACKTRACE = 56
    BACKTRACE_LEN = 64
    LAST_EXIT_FP = 72
    SIZE = 80


class Activation:
    """Offsets in an entry trampoline's activation record (pointer-sized words)."""

    FRAME = 0  # the entry trampoline's frame address (llvm.eh.sjlj.setjmp's word 0)
    SETJMP_WORDS = 5
    PREV = 5 * 8  # the enclosing activation's record, or null
    PREV_EXIT_FP = 6 * 8  # last_exit_fp when this activation began
    WORDS = 7


MAX_BACKTRACE = 256  # frames recorded per trap


class FuncRef:
    """Offsets in VMFuncRef."""

    WASM_CALL = 0
    TYPE_ID = 8
    VMCTX = 16
    SIZE = 24


class MemoryDef:
    BASE = 0
    LENGTH = 8
    SIZE = 16


class TableDef:
    BASE = 0
    LENGTH = 8
    SIZE = 16


class HostCtx:
    MAGIC = 0
    CALLBACK = 8
    FUNC_ID = 16
    PY_CALLABLE = 24
    PY_ON_ERROR = 32
    PY_RESULTS = 40
    SIZE = 48


class Builtin(IntEnum):
    """Index of each runtime helper in the VMContext's builtin table.

    Compiled code reaches the runtime only through this table, never through undefined
    symbols, so an artifact has no dynamic dependencies (Wasmer#2107)."""

    # i64 memory_grow(vmctx*, u32 memory_index, u64 delta_pages) -> old size in pages, or -1
    MEMORY_GROW = 0
    # i64 table_grow(vmctx*, u32 table_index, u64 delta, void *init) -> old size, or -1
    TABLE_GROW = 1
    # libc's own: bulk memory and table operations, after their range checks
    MEMMOVE = 2
    MEMSET = 3
    MEMCPY = 4
    # libm's fused multiply-add, for relaxed SIMD's madd on a CPU without FMA instructions
    FMA = 5
    FMAF = 6
    # threads: i32 wait(void *address, expected, i64 timeout_ns) -> 0 woken, 1 not equal,
    # 2 timed out; u32 notify(void *address, u32 count) -> waiters woken.  The address is
    # checked (bounds, alignment) and absolute: waiters of a shared memory meet there.
    ATOMIC_WAIT32 = 7
    ATOMIC_WAIT64 = 8
    ATOMIC_NOTIFY = 9


BUILTIN_COUNT = len(Builtin)

# The C signature of each builtin, for the loader's cffi callbacks.
BUILTIN_C_SIGNATURES: dict[Builtin, str] = {
    Builtin.MEMORY_GROW: "int64_t(void *, uint32_t, uint64_t)",
    Builtin.TABLE_GROW: "int64_t(void *, uint32_t, uint64_t, void *)",
    Builtin.MEMMOVE: "void *(void *, void *, size_t)",
    Builtin.MEMSET: "void *(void *, int, size_t)",
    Builtin.MEMCPY: "void *(void *, void *, size_t)",
    Builtin.FMA: "double(double, double, double)",
    Builtin.FMAF: "float(float, float, float)",
    Builtin.ATOMIC_WAIT32: "int32_t(void *, int32_t, int64_t)",
    Builtin.ATOMIC_WAIT64: "int32_t(void *, int64_t, int64_t)",
    Builtin.ATOMIC_NOTIFY: "uint32_t(void *, uint32_t)",
}


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass(frozen=True)
class VMContextLayout:
    """Field offsets of one module's VMContext, derived from its index-space sizes."""

    n_types: int
    n_memories: int
    n_tables: int
    n_globals: int
    n_funcs: int
    n_datas: int = 0
    n_elems: int = 0
    n_elem_items: int = 0  # total items of passive element segments

    MAGIC = 0
    STORE_CTX = 8
    BUILTINS = 16
    TYPE_IDS = 32

    # Region offsets, computed once (read at every instantiation).
    memories: int = field(init=False, repr=False)
    tables: int = field(init=False, repr=False)
    globals: int = field(init=False, repr=False)
    func_refs: int = field(init=False, repr=False)
    data_lengths: int = field(init=False, repr=False)
    elem_lengths: int = field(init=False, repr=False)
    elem_items: int = field(init=False, repr=False)
    size: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        at = _align(self.TYPE_IDS + 4 * self.n_types, 8)
        for name, count, width in (
            ("memories", self.n_memories, POINTER_SIZE),
            ("tables", self.n_tables, POINTER_SIZE),
            ("globals", self.n_globals, POINTER_SIZE),
            ("func_refs", self.n_funcs, FuncRef.SIZE),
            ("data_lengths", self.n_datas, 8),
            ("elem_lengths", self.n_elems, 8),
            ("elem_items", self.n_elem_items, POINTER_SIZE),
        ):
            object.__setattr__(self, name, at)  # frozen: set once, here
            at += count * width
        object.__setattr__(self, "size", at)

    def type_id(self, type_index: int) -> int:
        return self.TYPE_IDS + 4 * type_index

    def memory(self, index: int) -> int:
        return self.memories + POINTER_SIZE * index

    def table(self, index: int) -> int:
        return self.tables + POINTER_SIZE * index

    def global_(self, index: int) -> int:
        return self.globals + POINTER_SIZE * index

    def func_ref(self, index: int) -> int:
        return self.func_refs + FuncRef.SIZE * index

    def data_length(self, index: int) -> int:
        return self.data_lengths + 8 * index

    def elem_length(self, index: int) -> int:
        return self.elem_lengths + 8 * index


# C declarations of the same structures, for the loader's cffi.  A test checks that cffi's
# offsetof agrees with the constants above, so the two cannot drift apart.
C_DECLARATIONS = """
typedef union {
    int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
    float f32; double f64; uint8_t v128[16]; void *ref;
} ValRaw;
typedef struct {
    uint64_t stack_limit; void *jmp_buf; uint32_t trap_code; uint32_t _pad0;
    uint64_t max_wasm_stack; int64_t fuel; uint64_t interrupt;
    uint64_t trap_offset; uint64_t *backtrace; uint64_t backtrace_len;
    uint64_t last_exit_fp;
} VMStoreContext;
typedef struct { void *wasm_call; uint64_t type_id; void *vmctx; } VMFuncRef;
typedef struct { uint8_t *base; uint64_t length; } VMMemoryDefinition;
typedef struct { void **base; uint64_t length; } VMTableDefinition;
typedef struct {
    uint32_t magic; uint32_t _pad0; void *callback; uint64_t func_id;
    void *py_callable; void *py_on_error; void *py_results;
} VMHostContext;
typedef int (*HostCallback)(void *host_ctx, void *caller_vmctx, ValRaw *values, uint32_t count);
"""
