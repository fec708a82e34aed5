"""Importing this module registers every operator lowering in `registry`."""

import aot.codegen.ops.atomic  # noqa: F401
import aot.codegen.ops.bulk_memory  # noqa: F401
import aot.codegen.ops.call  # noqa: F401
import aot.codegen.ops.control  # noqa: F401
import aot.codegen.ops.conversion  # noqa: F401
import aot.codegen.ops.memory  # noqa: F401
import aot.codegen.ops.numeric  # noqa: F401
import aot.codegen.ops.parametric  # noqa: F401
import aot.codegen.ops.reference  # noqa: F401
import aot.codegen.ops.simd_bitwise  # noqa: F401
import aot.codegen.ops.simd_convert  # noqa: F401
import aot.codegen.ops.simd_float  # noqa: F401
import aot.codegen.ops.simd_int  # noqa: F401
import aot.codegen.ops.simd_lanes  # noqa: F401
import aot.codegen.ops.simd_memory  # noqa: F401
import aot.codegen.ops.simd_relaxed  # noqa: F401
import aot.codegen.ops.table  # noqa: F401
import aot.codegen.ops.variable  # noqa: F401
