r"""Numba kernels for bit-packed binary networks.

Bit ``1`` is +1 and bit ``0`` is -1. For an ``n``-bit input ``x`` and a weight row
``w_j`` (both packed in ``uint64`` words, least significant bit first):

.. math::

    s_j = \sum_i W_{ji} x_i + b_j = n - 2\,\mathrm{popcount}(x \oplus w_j) + b_j

A hidden unit outputs +1 iff ``s_j >= 0``, i.e. iff
``popcount(x XOR w_j) <= t_j`` with the precomputed threshold ``t_j = (n + b_j) // 2``.
The output layer returns the integer scores ``s_j = c_j - 2 popcount(x XOR w_j)`` with
``c_j = n + b_j``.

Memory layout of one network (see :class:`genome.nets.layout.Layout`), all in one
flat ``uint64`` array ``weights`` and one flat ``int32`` array ``thresholds``:

* hidden layer ``l`` (``n_in`` inputs in ``nw`` words, ``n_out`` units padded to
  blocks of 64): block ``k``, input word ``w``, unit ``j`` of the block is
  ``weights[w_off[l] + (k * nw + w) * 64 + j]``; thresholds ``thresholds[t_off[l] + k*64 + j]``.
  Padding units have zero weights and threshold -1, so they never fire and the
  padding bits of every hidden activation are 0.
* output layer: unit ``j``, word ``w`` is ``weights[w_off[L-1] + j * nw + w]`` and
  ``thresholds[t_off[L-1] + j] = c_j``.

A block of 64 hidden units is evaluated by :func:`genome.intrinsics.block64`, an explicit LLVM vector
operation (64 lanes of XOR + ``ctpop``, accumulated over input words, one vector
compare, the ``<64 x i1>`` mask bitcast to a ``uint64``). LLVM lowers it to
``vpopcntq``/``vpcmpd`` on AVX-512 and to shuffles on AVX2/NEON; no C compiler
or CUDA toolkit is involved.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from genome.intrinsics import block64, block64_word, block64_word_t, popcount  # noqa: F401  (popcount re-exported for kernels)
from genome.parallel import PRANGE_ONLY

#: Rows of a batch handled by one parallel task (each task owns its scratch buffer).
CHUNK_ROWS = 2048


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def n_words(n_bits):
    """Number of uint64 words holding ``n_bits`` bits."""
    return (n_bits + 63) >> 6


@njit(cache=True, boundscheck=False, nogil=True)
def max_words(sizes):
    """Scratch words needed by :func:`forward_one` for a network with these layer sizes."""
    m = 1
    for s in sizes:
        w = (s + 63) >> 6
        if w > m:
            m = w
    return m


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x, scratch, scores):
    """One forward pass: packed input words ``x`` -> integer output ``scores``.

    ``scratch`` is a flat uint64 array of ``2 * max_words(sizes)`` words owned by the caller
    (two activation buffers). Padding bits of the last input word are masked, so they never
    change a result. No array views are taken: in numba each one costs an atomic
    reference-count update, which would dominate a 64-unit layer.
    """
    n_layers = len(sizes) - 1
    half = scratch.shape[0] // 2
    nw0 = n_words(sizes[0])
    for k in range(nw0):
        scratch[k] = x[k]
    rem = sizes[0] & 63
    if rem != 0:
        scratch[nw0 - 1] &= (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    src = 0
    for layer in range(n_layers - 1):
        nw = n_words(sizes[layer])
        dst = half - src
        for k in range(n_words(sizes[layer + 1])):
            scratch[dst + k] = block64(
                weights, w_offsets[layer] + k * nw * 64, scratch, src, nw, thresholds, t_offsets[layer] + k * 64
            )
        src = dst
    last = n_layers - 1
    nw = n_words(sizes[last])
    w0 = w_offsets[last]
    t0 = t_offsets[last]
    for j in range(sizes[n_layers]):
        pc = 0
        base = w0 + j * nw
        for w in range(nw):
            pc += popcount(scratch[src + w] ^ weights[base + w])
        scores[j] = thresholds[t0 + j] - 2 * pc


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _hidden_word(weights, thresholds, sizes, w_offsets, t_offsets, x):
    """The last hidden activation word of a narrow network (every layer, input included,
    at most 64 bits wide: ``max_words(sizes) == 1``) for the input word ``x``, computed
    in registers -- no scratch memory between layers. Padding bits of ``x`` are masked."""
    rem = sizes[0] & 63
    h = x
    if rem != 0:
        h &= (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    for layer in range(len(sizes) - 2):
        h = block64_word(weights, w_offsets[layer], h, thresholds, t_offsets[layer])
    return h


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def forward_word(weights, thresholds, sizes, w_offsets, t_offsets, x, scores):
    """:func:`forward_one` for narrow networks (see :func:`_hidden_word`), input word ``x``."""
    h = _hidden_word(weights, thresholds, sizes, w_offsets, t_offsets, x)
    last = len(sizes) - 2
    w0 = w_offsets[last]
    t0 = t_offsets[last]
    for j in range(sizes[last + 1]):
        scores[j] = thresholds[t0 + j] - 2 * popcount(h ^ weights[w0 + j])


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def forward_word_argmax(weights, thresholds, sizes, w_offsets, t_offsets, x):
    """The index of the largest output score of :func:`forward_word` (ties to the lowest),
    without storing the scores."""
    h = _hidden_word(weights, thresholds, sizes, w_offsets, t_offsets, x)
    last = len(sizes) - 2
    w0 = w_offsets[last]
    t0 = t_offsets[last]
    best = 0
    best_score = thresholds[t0] - 2 * popcount(h ^ weights[w0])
    for j in range(1, sizes[last + 1]):
        score = thresholds[t0 + j] - 2 * popcount(h ^ weights[w0 + j])
        if score > best_score:
            best, best_score = j, score
    return best


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def transpose_blocks(weights, thresholds, sizes, w_offsets, t_offsets):
    """The hidden layers of a narrow network (every layer at most 64 bits wide) in the form
    :func:`~genome.intrinsics.block64_word_t` reads: 64 weight words per layer with unit
    ``8*l + i`` at ``8*i + l``, and ``-t_j - 1`` as int8 (``t_j`` clamped to ``[-1, 64]``,
    which changes no comparison with a popcount of 64 bits)."""
    n_hidden = len(sizes) - 2
    wt = np.empty(64 * max(n_hidden, 1), dtype=np.uint64)
    nt = np.empty(64 * max(n_hidden, 1), dtype=np.int8)
    for layer in range(n_hidden):
        wo, to, o = w_offsets[layer], t_offsets[layer], 64 * layer
        for i in range(8):
            for l in range(8):
                wt[o + 8 * i + l] = weights[wo + 8 * l + i]
        for j in range(64):
            nt[o + j] = -min(max(thresholds[to + j], -1), 64) - 1
    return wt, nt


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _narrow_rows(weights, thresholds, sizes, w_offsets, t_offsets, x, out, start, stop):
    """Rows ``[start, stop)`` of ``x`` (rows, 1 word) through a narrow network (every layer
    at most 64 bits wide), four rows in flight: four independent chains of
    :func:`~genome.intrinsics.block64_word_t` per layer share each weight load and keep the
    vector units busy while one chain waits on its compare (1.4x one row at a time, 20-22
    vs 14.5 M forward/s for 64-64-64-2 on an AVX2 core, benchmarks/forward.py). The hidden
    layers are first stored transposed (:func:`transpose_blocks`, 128 words and bytes per
    layer) for the bytewise compare."""
    wt, nt = transpose_blocks(weights, thresholds, sizes, w_offsets, t_offsets)
    n_layers = len(sizes) - 1
    last = n_layers - 1
    w0 = w_offsets[last]
    t0 = t_offsets[last]
    n_out = sizes[n_layers]
    rem = sizes[0] & 63
    mask = ~np.uint64(0)
    if rem != 0:
        mask = (np.uint64(1) << np.uint64(rem)) - np.uint64(1)
    r = start
    while r + 4 <= stop:
        a = x[r, 0] & mask
        b = x[r + 1, 0] & mask
        c = x[r + 2, 0] & mask
        d = x[r + 3, 0] & mask
        for layer in range(n_layers - 1):
            o = 64 * layer
            a = block64_word_t(wt, o, a, nt, o)
            b = block64_word_t(wt, o, b, nt, o)
            c = block64_word_t(wt, o, c, nt, o)
            d = block64_word_t(wt, o, d, nt, o)
        # unsigned indices: numba adds no negative-index wraparound code for them
        for j in range(n_out):
            wj = weights[np.uint64(w0 + j)]
            tj = thresholds[np.uint64(t0 + j)]
            uj = np.uint64(j)
            out[np.uint64(r), uj] = tj - 2 * popcount(a ^ wj)
            out[np.uint64(r + 1), uj] = tj - 2 * popcount(b ^ wj)
            out[np.uint64(r + 2), uj] = tj - 2 * popcount(c ^ wj)
            out[np.uint64(r + 3), uj] = tj - 2 * popcount(d ^ wj)
        r += 4
    for r in range(r, stop):  # the last 0-3 rows, one at a time
        forward_word(weights, thresholds, sizes, w_offsets, t_offsets, x[r, 0], out[r])


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _batch_chunk(chunk, weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """Rows ``[chunk*CHUNK_ROWS, (chunk+1)*CHUNK_ROWS)`` of a batch, with their own scratch."""
    start = chunk * CHUNK_ROWS
    stop = min(x.shape[0], start + CHUNK_ROWS)
    if max_words(sizes) == 1:
        _narrow_rows(weights, thresholds, sizes, w_offsets, t_offsets, x, out, start, stop)
        return
    scratch = np.empty(2 * max_words(sizes), dtype=np.uint64)
    for r in range(start, stop):
        forward_one(weights, thresholds, sizes, w_offsets, t_offsets, x[r], scratch, out[r])


@njit(cache=True, inline="always", boundscheck=False, nogil=True)
def _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """All inputs ``x[m, :]`` of member ``m`` through its own weights row."""
    wm = weights[m]
    tm = thresholds[m]
    if max_words(sizes) == 1:
        _narrow_rows(wm, tm, sizes, w_offsets, t_offsets, x[m], out[m], 0, x.shape[1])
        return
    scratch = np.empty(2 * max_words(sizes), dtype=np.uint64)
    for b in range(x.shape[1]):
        forward_one(wm, tm, sizes, w_offsets, t_offsets, x[m, b], scratch, out[m, b])


# Serial and parallel variants are separate functions on purpose: numba's on-disk cache is
# keyed by function name and line, not by the ``parallel`` flag, so one Python function
# wrapped twice would load whichever variant was compiled first for both.


@njit(cache=True, boundscheck=False, nogil=True)
def forward_batch(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """``out[r] = forward(x[r])`` for every row of a packed batch ``x`` (rows, words); one thread."""
    for c in range((x.shape[0] + CHUNK_ROWS - 1) // CHUNK_ROWS):
        _batch_chunk(c, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def forward_batch_parallel(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """:func:`forward_batch` with chunks of rows spread over numba's threads."""
    for c in prange((x.shape[0] + CHUNK_ROWS - 1) // CHUNK_ROWS):
        _batch_chunk(c, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True)
def forward_population(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """Population form: member ``m`` (row ``m`` of ``weights``/``thresholds``) maps each of its
    own inputs ``x[m, b]`` (members, batch, words) to ``out[m, b]``; one thread."""
    for m in range(x.shape[0]):
        _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True, parallel=PRANGE_ONLY)
def forward_population_parallel(weights, thresholds, sizes, w_offsets, t_offsets, x, out):
    """:func:`forward_population` with members spread over numba's threads."""
    for m in prange(x.shape[0]):
        _population_member(m, weights, thresholds, sizes, w_offsets, t_offsets, x, out)


@njit(cache=True, boundscheck=False, nogil=True)
def forward_indexed(weights, thresholds, sizes, w_offsets, t_offsets, members, x, out):
    """Row ``r`` of the packed inputs ``x`` goes through member ``members[r]`` of the
    population ``weights``/``thresholds`` (environment slots -> their member's network)."""
    scratch = np.empty(2 * max_words(sizes), dtype=np.uint64)
    for r in range(x.shape[0]):
        m = members[r]
        forward_one(weights[m], thresholds[m], sizes, w_offsets, t_offsets, x[r], scratch, out[r])
