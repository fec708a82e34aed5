"""The canonical ABI of the component model (design/mvp/CanonicalABI.md), synchronous
part: how component values are laid out in a core instance's linear memory and carried
by core values, and how they are lifted into Python values and lowered from them.

Layout and flattening (`abi_layout`)
    alignment(t), elem_size(t), discriminant_type(t), flatten_type(t),
    flatten_functype(ft, 'lift' | 'lower') -> CoreSig(params, results); MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS.  Every function takes an optional ptr_type ('i32', or 'i64' for a
    64-bit memory).

Values (`abi_lift`, `abi_lower`), all with a `LiftLowerContext(opts, inst, borrow_scope)`:
    load(cx, ptr, t) / store(cx, value, t, ptr): one value in memory;
    lift_flat(cx, core_values, t) / lower_flat(cx, value, t): one value as core values;
    lift_values(cx, max_flat, core_values, types) / lower_values(cx, values, types,
    max_flat, out_param=None): a call's parameters or results, spilled to memory past
    max_flat core values.
    Core integers are unsigned bit patterns (signed ones are accepted when lifting).

Python values of component types
    bool             bool (lifting: any non-zero byte or i32 is True)
    s8..u64          int, range-checked when lowering (bool refused)
    f32, f64         float (an int is accepted when lowering); f32 is rounded to the
                     nearest f32.  NaNs are canonicalized (the deterministic profile:
                     0x7fc00000, 0x7ff8000000000000)
    char             a 1-character str; surrogates are refused (ValueError) when lowering
                     and trap when lifting, as do values past 0x10FFFF
    string           str; lowered from its UTF-8 (surrogates refused) into the
                     options' encoding (utf8, utf16, latin1+utf16)
    list<u8>         bytes (lowering also takes bytearray and memoryview)
    list<T>          lifting: a WasmList, a Sequence reading each element from memory
                     when indexed (see WasmList for how long it stays valid);
                     lowering: any Sequence but str
    record           lifting: a dict {field name: value}; lowering: a dict with exactly
                     the fields, or an object with attributes of those names ('a-b' is
                     read as attribute 'a_b'), such as a dataclass
    tuple            tuple (lowering: any Sequence of the right length)
    variant          Variant(case, value); value None for a case without payload
    enum             str, the case name
    option<T>        None for none; for some(v), v itself, unless T is itself an option,
                     where a bare None could mean either level: then Some(v) (so
                     option<option<u8>> is None, Some(None) or Some(5)).  Lowering
                     takes None, Some(v), or any other value as some(value).
    result<O, E>     Ok(value) / Err(value); value None when that side has no payload
    flags            frozenset of the names set (lowering: any iterable of names, or a
                     mapping name -> bool; unknown names refused).  1..32 flags as the
                     spec has them; more than 32 as wasmtime's more-flags layout
                     (one i32 per 32); an empty flags type is refused (CompileError)
    own<R>, borrow<R> a Resource (see abi_resources for the handle rules)

Errors
    A wrong host value raises ComponentTypeError / ComponentValueError (subclasses of
    TypeError / ValueError) whose message says where it is and what was expected:
    "value 0: field 'x' of record: expected an int in 0..255 for u8, got 300".
    Invalid data from the guest (bad pointer alignment or bounds, invalid UTF-8/UTF-16,
    char or discriminant, misused handles, a bad realloc result) raises aot.Trap.
    Its code is MEMORY_OUT_OF_BOUNDS for bounds, HEAP_MISALIGNED for alignment and
    UNREACHABLE_CODE_REACHED (the spec's plain `trap()`) for the rest: TrapCode has no
    canonical-ABI code yet.  A missing `memory` or `realloc` option when a value needs
    one, and an empty record, tuple, variant, enum or flags type, are CompileErrors.

Not here: the async ABI (streams, futures, error contexts, async lifts and lowers) and
fixed-length lists; types.py has none of them."""

from aot.component.abi_context import (
    LiftLowerContext,
    LiftLowerOptions,
    MemoryLike,
    Realloc,
)
from aot.component.abi_layout import (
    MAX_FLAT_PARAMS,
    MAX_FLAT_RESULTS,
    MAX_LIST_BYTE_LENGTH,
    MAX_STRING_BYTE_LENGTH,
    CoreSig,
    align_to,
    alignment,
    discriminant_type,
    elem_size,
    flatten_functype,
    flatten_type,
    flatten_types,
    join,
)
from aot.component.abi_lift import CoreValueIter, WasmList, lift_flat, lift_values, load
from aot.component.abi_lower import lower_flat, lower_values, store
from aot.component.abi_resources import (
    HandleTable,
    InstanceState,
    Resource,
    ResourceHandle,
    Subtask,
    Task,
)
from aot.component.values import (
    ComponentTypeError,
    ComponentValueError,
    Err,
    Ok,
    Some,
    Variant,
)

__all__ = [
    "MAX_FLAT_PARAMS", "MAX_FLAT_RESULTS", "MAX_LIST_BYTE_LENGTH", "MAX_STRING_BYTE_LENGTH",
    "ComponentTypeError", "ComponentValueError", "CoreSig", "CoreValueIter", "Err",
    "HandleTable", "InstanceState", "LiftLowerContext", "LiftLowerOptions", "MemoryLike",
    "Ok", "Realloc", "Resource", "ResourceHandle", "Some", "Subtask", "Task", "Variant",
    "WasmList", "align_to", "alignment", "discriminant_type", "elem_size",
    "flatten_functype", "flatten_type", "flatten_types", "join", "lift_flat", "lift_values",
    "load", "lower_flat", "lower_values", "store",
]
