"""Numba's parallel options for the kernels' ``prange`` loops.

``parallel=True`` turns on every parfor rewrite numba has (array expressions, reductions,
``setitem``, fusion, ...), and each costs compile time on a cold cache even where it finds
nothing. genome's kernels parallelize one explicit ``prange`` loop each, so they ask for that
rewrite only: a cold ``genome train cartpole`` compiles ~1 s less (README, "Cold
compilation"). Inside such a loop, array expressions run serially, as they would in a
nested parfor anyway.
"""

from numba.core.cpu import ParallelOptions

#: ``parallel=PRANGE_ONLY``: the ``prange`` loops become parfors, nothing else does.
PRANGE_ONLY = ParallelOptions({"prange": True, "fusion": False, "numpy": False, "reduction": False,
                               "comprehension": False, "inplace_binop": False, "setitem": False, "stencil": False})
