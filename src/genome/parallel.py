"""How genome's kernels use the cores: numba's ``prange`` loops, asked for that rewrite only.

``parallel=PRANGE_ONLY``: ``parallel=True`` turns on every parfor rewrite numba has (array
expressions, reductions, ``setitem``, fusion, ...), and each costs compile time on a cold
cache even where it finds nothing. genome's kernels parallelize one explicit ``prange`` loop
each, so they ask for that rewrite only. Inside such a loop, array expressions run serially,
as they would in a nested parfor anyway.

The real-valued and recurrent fused rollouts (``problems/fused_dense.py``,
``problems/fused_recurrent.py``) keep their ``prange`` loop trivial: ``for t in
prange(n_threads)`` calls one plain (not parallel) compiled function that does thread
``t``'s share of the tasks (``t, t + n_threads, ...``). numba compiles a parfor's body twice
-- once in the function, once more as a separate "gufunc", after copy propagation and array
analysis over all of it -- so a rollout written inside the loop costs about twice the
compile time. The binary rollouts (``problems/fused.py``) stay written inside their loop:
as a plain function called from it, CartPole's binary rollout compiled ~25% faster but ran
~33% slower per step (30 vs 20 M steps/s on one core; marking the plain function's
pointer arguments ``noalias``, as numba marks a gufunc's, did not change that; its dumped
assembly, ``NUMBA_DUMP_ASSEMBLY=1``, has reference-count calls (``NRT_decref``) among the
blocks of its step loop, where the loop as a gufunc body has none: a likely cause, not
confirmed per step and not yet removed). Python threads calling a plain function instead compile fastest but
ran generations 20-30% slower here (a woken thread starts on the waker's busy core;
numba's pool threads wait on their own cores).
Each task is computed independently, so the results do not depend on the thread count.
"""

from __future__ import annotations

import numba
from numba.core.cpu import ParallelOptions

#: ``parallel=PRANGE_ONLY``: the ``prange`` loops become parfors, nothing else does.
PRANGE_ONLY = ParallelOptions({"prange": True, "fusion": False, "numpy": False, "reduction": False,
                               "comprehension": False, "inplace_binop": False, "setitem": False, "stencil": False})


def threads_for(n_items: int) -> int:
    """How many threads' shares to split ``n_items`` into: ``numba.get_num_threads()``, at
    most one per item, at least 1 (so that zero items still compile and run the kernel)."""
    return max(1, min(numba.get_num_threads(), n_items))
