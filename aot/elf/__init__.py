"""Reading artifacts as ELF files with pyelftools: small classes, one per structure."""

from aot.elf.reader import ArtifactFile, FunctionSymbol, UnwindEntry

__all__ = ["ArtifactFile", "FunctionSymbol", "UnwindEntry"]
