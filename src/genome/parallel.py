"""How genome's kernels use the cores: numba's ``prange`` loops, asked for that rewrite only.

``parallel=PRANGE_ONLY``: ``parallel=True`` turns on every parfor rewrite numba has (array
expressions, reductions, ``setitem``, fusion, ...), and each costs compile time on a cold
cache even where it finds nothing. genome's kernels parallelize one explicit ``prange`` loop
each, so they ask for that rewrite only. Inside such a loop, array expressions run serially,
as they would in a nested parfor anyway.

The fused rollouts keep their ``prange`` loop trivial: ``for t in prange(n_threads)`` calls
one plain (not parallel) compiled function that does thread ``t``'s share of the work
(items ``t, t + n_threads, ...``). numba compiles a parfor's body twice -- once in the
function, once more as a separate "gufunc", after copy propagation and array analysis over
all of it -- so a rollout written inside the ``prange`` loop compiled in 18 s on this
project's 2-core machine, and 9 s as a plain function called from it. Python threads
calling the plain function instead would compile as fast but ran 20-30% slower per
generation here (a woken thread starts on the busy core), where numba's pool threads wait
on their own cores. Each item is computed independently, so the results do not depend on
the thread count.
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
