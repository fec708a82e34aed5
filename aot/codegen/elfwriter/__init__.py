"""aot's own ELF writer: relocatable object (from LLVM) -> shared object (for dlopen),
in pure Python, so compiling needs no system linker.

One module per part of the ELF specification: `objfile` (the input), `layout` (output
sections and segments), `relocate` (relocation types per machine), `dynamic` (.dynsym,
.gnu.hash, .rela.dyn, .dynamic), `ehframe` (.eh_frame_hdr), `writer` (the headers and
the pipeline), `merge` (several objects and bulk data into one input)."""

from aot.codegen.elfwriter.merge import Blob
from aot.codegen.elfwriter.writer import UndefinedSymbolError, write_shared_object

__all__ = ["Blob", "UndefinedSymbolError", "write_shared_object"]
