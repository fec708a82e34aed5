"""A compile worker process: `python -m aot.codegen.worker`, driven by `pipeline`.

Plain subprocesses rather than `multiprocessing`: its `spawn` re-imports the caller's
`__main__` (a script without an `if __name__ == "__main__"` guard would recurse), and
`fork` copies a process whose other threads may hold locks.  The protocol is
length-prefixed pickles over a pipe: the parent sends ("module", options, wasm) once, as
soon as the worker starts, then ("job", job) once the plan is made, then ("unit", k) per
unit, then closes; the worker answers each unit with ("ok", k, object,
times, ir_bytes) or ("error", k, exception)."""

from __future__ import annotations

import os
import pickle
import struct
import sys
import time
from typing import BinaryIO

_LEN = struct.Struct("<Q")


def send(stream: BinaryIO, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LEN.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: BinaryIO) -> object | None:
    """The next message, or None at the end of the stream."""
    head = stream.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def _portable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling, else an AotError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure means: send the text instead
        from aot.errors import AotError

        return AotError(f"{type(exc).__name__} in a compile worker: {exc}")


def main() -> None:
    # The protocol owns the original stdout; anything printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = os.fdopen(os.dup(0), "rb")
    from aot.wasm.decoder import bodies_decoded, decode

    module = job = None
    while True:
        message = receive(inp)
        if message is None:
            return
        if message[0] == "module":
            _, options, wasm = message
            t = time.thread_time()
            # The parent validates the module meanwhile (it refuses an invalid one by
            # closing this pipe); a malformed one ends this worker, unreported.  Bodies
            # are decoded unit by unit, and dropped after: a worker holds one unit's
            # instructions at a time.
            try:
                module = decode(wasm, bodies=(), multi_memory=options.multi_memory,
                                memory64=options.memory64, threads=options.threads)
            except Exception:  # noqa: BLE001 - the parent's decode reports it
                return
            decode_time = time.thread_time() - t
            continue
        if message[0] == "job":
            job = message[1]
            continue
        _, unit = message
        try:
            t = time.thread_time()
            with bodies_decoded(module, wasm, job.plan.translated(unit)):
                decode_time += time.thread_time() - t
                obj, times, ir_bytes, cached = job.run(module, unit)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
            send(out, ("error", unit, _portable(exc)))
            continue
        times["decode"], decode_time = decode_time, 0.0
        send(out, ("ok", unit, obj, times, ir_bytes, cached))


if __name__ == "__main__":
    sys.exit(main())
