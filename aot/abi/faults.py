"""The guard-page fault handler's contract: the process-wide state it reads, and the
platform layouts it relies on (x86-64 Linux, glibc).

Every x86-64 artifact carries the handler (`aot_on_fault`, compiled ahead of time like
the rest of the code: no JIT, no LLVM at load time) and a writable pointer
`aot_fault_state` (vtable words `FAULT_HANDLER`, `FAULT_STATE`).  The loader installs the
handler of the first guard-mode artifact it loads, after pointing that artifact's
`aot_fault_state` at the one `AotFaultState` of the process.  Artifacts are never
unmapped, so the handler's code stays valid for the life of the process.

    AotFaultState
      sigaction_fn  void*   libc's sigaction (to restore SIG_DFL when chaining to it)
      n_ranges      u64     registered code ranges in use (slots may be emptied)
      n_stores      u64     registered store contexts in use (slots may be null)
      prev_segv     struct sigaction   the actions installed before ours
      prev_bus      struct sigaction
      dfl           struct sigaction   SIG_DFL, for the reset
      ranges        u64[2 * CAPACITY]  [begin, end) of each artifact's code
      stores        void*[CAPACITY]    VMStoreContext* of each live store
"""

from __future__ import annotations

SIGBUS, SIGSEGV = 7, 11
SA_SIGINFO = 0x4
SA_NODEFER = 0x40000000  # the handler longjmps out: SIGSEGV must not stay blocked
CAPACITY = 16384  # registered code ranges, and registered stores
STACK_SLACK = 1 << 20  # frames of the entry trampoline and host calls below the limit

# glibc x86-64: ucontext_t.uc_mcontext.gregs[REG_RBP/RSP/RIP]
UC_RBP, UC_RSP, UC_RIP = 40 + 8 * 10, 40 + 8 * 15, 40 + 8 * 16

SIGACTION_SIZE = 152  # glibc x86-64 struct sigaction
SA_FLAGS_OFFSET = 136


class FaultState:
    SIGACTION_FN = 0
    N_RANGES = 8
    N_STORES = 16
    PREV_SEGV = 32
    PREV_BUS = PREV_SEGV + SIGACTION_SIZE
    DFL = PREV_BUS + SIGACTION_SIZE
    RANGES = DFL + SIGACTION_SIZE
    STORES = RANGES + 16 * CAPACITY


C_DECLARATIONS = f"""
struct sigaction {{ void *sa_handler; unsigned long sa_mask[16]; int sa_flags;
                   void *sa_restorer; }};
int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact);
int sigemptyset(unsigned long *set);
typedef struct {{
    void *sigaction_fn; uint64_t n_ranges; uint64_t n_stores; uint64_t _pad;
    struct sigaction prev_segv; struct sigaction prev_bus; struct sigaction dfl;
    uint64_t ranges[{2 * CAPACITY}]; void *stores[{CAPACITY}];
}} AotFaultState;
"""
