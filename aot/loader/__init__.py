"""Loading artifacts into the process and running them (imports `aot.abi`, never
`aot.codegen`)."""

from aot.loader.artifact import Artifact
from aot.loader.caller import Caller
from aot.loader.closures import Closure
from aot.loader.func import Func
from aot.loader.global_ import Global
from aot.loader.instance import Exports, Instance
from aot.loader.linker import Linker
from aot.loader.memory import Memory
from aot.loader.module import Module
from aot.loader.store import Store
from aot.loader.table import Table

__all__ = ["Artifact", "Caller", "Closure", "Exports", "Func", "Global", "Instance", "Linker", "Memory",
           "Module", "Store", "Table"]
