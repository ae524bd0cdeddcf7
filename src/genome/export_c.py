"""Export a trained policy (any family) as one dependency-free C99 source file.

The file holds the encoder (binary networks) or the observation normalizer (real-valued
networks) and the network as ``static const`` arrays and defines

* ``void genome_scores(const float *obs, int32_t *scores)`` -- the network's output scores
  (``double *scores`` for a real-valued network);
* for a policy with memory (``lstm``, ``gru``, ``binary_rnn``): a ``genome_state`` struct the
  caller owns (one per episode being played), ``void genome_reset(genome_state *)`` for
  every episode's start, and the state as the first argument of the functions below;
* ``int genome_act(const float *obs)`` -- the discrete action (argmax, ties to the lowest
  index), for a discrete action space;
* ``void genome_act_continuous(const float *obs, float *action)`` -- for a box action
  space (``bins``, ``clip``, ``affine`` or ``tanh`` head).

Arithmetic matches genome's own kernels: observations are compared with the bucket edges
in float32, hidden units fire iff ``popcount(x ^ w) <= t``; a real-valued network
normalizes in double, sums ``W x + b`` in double in index order with float32 weights and
applies the C library's ``tanh``; the action head does the same float32/float64 steps, so
the C policy picks the same action as ``genome.load_policy(...).act`` (the test suite
compiles it and checks).
"""

from __future__ import annotations

import numpy as np

from genome import __version__
from genome.encoders.interval import DitheredThermometerEncoder, IntervalEncoder, uniform_steps
from genome.encoders.kernels import DITHER_LEVELS, DITHER_SHIFT, FMIX32_C1, FMIX32_C2, FNV_OFFSET32, FNV_PRIME32, GOLDEN32
from genome.encoders.raw import RawBitsEncoder
from genome.errors import ConfigError
from genome.nets.binary import BinaryNetwork
from genome.policies.heads import AFFINE, ARGMAX, BINS, CLIP

WORDS_PER_LINE = 4


def _c_array(ctype: str, name: str, values, fmt) -> str:
    values = list(values)
    if not values:
        values = [0]
    per_line = WORDS_PER_LINE if ctype == "uint64_t" else 8
    lines = [", ".join(fmt(v) for v in values[i : i + per_line]) for i in range(0, len(values), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(values)}] = {{\n    {body}\n}};\n"


def _float(v: float) -> str:
    v = float(np.float32(v))
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return f"{v!r}f"


def _u64(v) -> str:
    return f"UINT64_C(0x{int(v):016x})"


def export_c(net, env_id: str | None = None, prefix: str = "genome") -> str:
    """C source for ``net``: a binary network with an encoder (and, for box actions, a head),
    or a real-valued network (by the network's ``kernel``)."""
    if net.kernel not in EXPORTERS:
        raise ConfigError(f"genome export --format c supports the binary (binary_mlp, binary_latent, binary_planes), dense and recurrent (lstm, gru, binary_rnn) families, not {net.family} "
                          "(a conv policy runs through genome.load_policy in Python)")
    return EXPORTERS[net.kernel](net, env_id, prefix)


def _preamble(p: str, what: str, env_id: str | None, description: str, n_obs: int, n_out: int, head, string_h: bool = True) -> list[str]:
    """The file's opening comment (``description`` then "Dependency-free C99."), its includes
    and the ``{P}_N_OBS`` / ``{P}_N_OUTPUTS`` (/ ``{P}_ACTION_DIM`` for a box) defines."""
    out = [
        f"/* {p}: {what} policy exported by genome {__version__}" + (f" for {env_id}" if env_id else "")
        + f".\n * {description} Dependency-free C99. */\n",
        "#include <stdint.h>\n" + ("#include <string.h>\n" if string_h else "") + "#include <math.h>\n",
        f"#define {p.upper()}_N_OBS {n_obs}\n#define {p.upper()}_N_OUTPUTS {n_out}\n",
    ]
    if head is not None and head.kind != ARGMAX:
        out.append(f"#define {p.upper()}_ACTION_DIM {head.action_dim}\n")
    return out


def _export_binary(net: BinaryNetwork, env_id: str | None, prefix: str) -> str:
    """A binary network; for ``binary_rnn`` (``net.kernel == "binary_recurrent"``) the first
    hidden layer's previous bits live in a caller-owned ``{prefix}_state``."""
    enc = net.encoder
    if enc is None:
        raise ConfigError("only a policy with an encoder can be exported (this network has none)")
    head = net.head
    sizes = net.layer_sizes
    weights, biases = net.to_dense()
    p = prefix
    recurrent = net.kernel == "binary_recurrent"
    n_state = (sizes[1] + 63) // 64 if recurrent else 0
    out = _preamble(p, "binary", env_id, f"Network {'-'.join(map(str, sizes))} (bit 1 = +1, bit 0 = -1), encoder '{enc.name}', "
                    f"head '{head.name if head else 'argmax'}'.", enc.n_inputs, sizes[-1], head)
    max_words = max((s + 63) // 64 for s in sizes)
    out.append(f"#define {p.upper()}_MAX_WORDS {max_words}\n\n")
    if recurrent:
        out.append(_state_struct(p, f"uint64_t bits[{n_state}]; /* the recurrent layer's last {sizes[1]} activations, bit 1 = +1 */"))

    # popcount
    out.append(
        f"static int {p}_popcount64(uint64_t x) {{\n"
        "#if defined(__GNUC__) || defined(__clang__)\n"
        "    return __builtin_popcountll(x);\n"
        "#else\n"
        "    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));\n"
        "    x = (x & UINT64_C(0x3333333333333333)) + ((x >> 2) & UINT64_C(0x3333333333333333));\n"
        "    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);\n"
        "    return (int)((x * UINT64_C(0x0101010101010101)) >> 56);\n"
        "#endif\n}\n\n"
    )

    # encoder
    nw0 = (enc.n_bits + 63) // 64
    out.append(_encoder_c(enc, p))

    # layers: rows of packed words, thresholds (hidden) / offsets (output)
    for layer, (w, b) in enumerate(zip(weights, biases)):
        n_in = sizes[layer]
        rows = np.packbits((np.pad(w > 0, ((0, 0), (0, (-n_in) % 64)))).astype(np.uint8), axis=1, bitorder="little")
        words = np.ascontiguousarray(rows).view("<u8").reshape(-1)
        out.append(_c_array("uint64_t", f"{p}_w{layer}", words, _u64))
        if layer < len(weights) - 1:
            c = np.clip(np.floor_divide(n_in + b, 2), -1, n_in)
        else:
            c = n_in + b
        out.append(_c_array("int32_t", f"{p}_c{layer}", c, str))

    state_arg = f"{p}_state *st, " if recurrent else ""
    body = [
        f"\nvoid {p}_scores({state_arg}const float *obs, int32_t *scores) {{\n",
        f"    uint64_t a[{p.upper()}_MAX_WORDS], h[{p.upper()}_MAX_WORDS];\n",
        f"    {p}_encode(obs, a);\n",
    ]
    if recurrent:  # input bits n_bits .. n_bits + H - 1 are the state's bits
        nb, nw_in = enc.n_bits, (sizes[0] + 63) // 64
        body.append(f"    for (int w = {nw0}; w < {nw_in}; w++) a[w] = 0;\n")
        body.append(f"    for (int k = 0; k < {n_state}; k++) {{\n        int pos = {nb} + 64 * k, wd = pos >> 6, sh = pos & 63;\n"
                    "        a[wd] |= st->bits[k] << sh;\n"
                    f"        if (sh != 0 && wd + 1 < {nw_in}) a[wd + 1] |= st->bits[k] >> (64 - sh);\n    }}\n")
    for layer in range(len(weights)):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        nw = (n_in + 63) // 64
        hidden = layer < len(weights) - 1
        body.append(f"    for (int j = 0; j < {n_out}; j++) {{\n        int pc = 0;\n")
        body.append(f"        for (int w = 0; w < {nw}; w++) pc += {p}_popcount64(a[w] ^ {p}_w{layer}[j * {nw} + w]);\n")
        if hidden:
            body.append("        if ((j & 63) == 0) h[j >> 6] = 0;\n")
            body.append(f"        if (pc <= {p}_c{layer}[j]) h[j >> 6] |= UINT64_C(1) << (j & 63);\n    }}\n")
            body.append(f"    for (int w = 0; w < {(n_out + 63) // 64}; w++) a[w] = h[w];\n")
            if recurrent and layer == 0:
                body.append(f"    for (int w = 0; w < {n_state}; w++) st->bits[w] = h[w];\n")
        else:
            body.append(f"        scores[j] = {p}_c{layer}[j] - 2 * pc;\n    }}\n")
    body.append("}\n")
    out.extend(body)

    out.append(_act_functions(p, head, sizes[-1], "int32_t", recurrent))
    return "".join(out)


def _encoder_c(enc, p: str, levels: bool = False) -> str:
    """``static void {p}_encode(const float *obs, uint64_t *bits)``: the encoder's bits, as
    genome's kernels compute them (float32 comparisons; the dither's hash in ``uint32_t``).
    ``levels`` (a thermometer): ``static void {p}_levels(const float *obs, int32_t *t)``
    instead, each dimension's bit sum ``T_d = 2 ones_d - K_d`` without storing the bits."""
    out = []
    nw0 = (enc.n_bits + 63) // 64
    if isinstance(enc, IntervalEncoder):
        out.append(_c_array("int32_t", f"{p}_bit_offsets", enc.bit_offsets, str))
        # evenly spaced edges (policy.edge_spread, encoders.interval.uniform_edges): two floats
        # per dimension, each edge recomputed as lo + e step (an exact product, one rounding)
        rows = [uniform_steps(e) for e in enc.edges] if not enc.onehot else [None]
        if all(r is not None for r in rows):
            out.append(_c_array("float", f"{p}_edge_lo", [r[0] for r in rows], _float))
            out.append(_c_array("float", f"{p}_edge_step", [r[1] for r in rows], _float))
            out.append(_c_array("int32_t", f"{p}_edge_counts", enc.edge_counts, str))
            compare = f"        for (int e = 0; e < {p}_edge_counts[d]; e++) k += (v >= {p}_edge_lo[d] + (float)e * {p}_edge_step[d]);\n"
        else:
            starts = np.concatenate([[0], np.cumsum(enc.edge_counts)])
            out.append(_c_array("int32_t", f"{p}_edge_starts", starts, str))
            out.append(_c_array("float", f"{p}_edges", np.concatenate(enc.edges), _float))
            compare = f"        for (int e = {p}_edge_starts[d]; e < {p}_edge_starts[d + 1]; e++) k += (v >= {p}_edges[e]);\n"
        set_bits = (
            "        if (k > 0) { for (int i = 0; i < k; i++) { int b = "
            f"{p}_bit_offsets[d] + i; bits[b >> 6] |= UINT64_C(1) << (b & 63); }} }}\n"
            if not enc.onehot
            else f"        {{ int b = {p}_bit_offsets[d] + k; bits[b >> 6] |= UINT64_C(1) << (b & 63); }}\n"
        )
        dither = isinstance(enc, DitheredThermometerEncoder)
        value = "        float v = obs[d];\n"
        if dither:  # genome.encoders.kernels.dither_levels, in uint32_t
            out.append(_c_array("float", f"{p}_gaps", enc.gaps, _float))
            out.append(
                f"\nstatic uint32_t {p}_fmix32(uint32_t v) {{\n"
                f"    v ^= v >> 16; v *= 0x{FMIX32_C1:X}u; v ^= v >> 13; v *= 0x{FMIX32_C2:X}u; v ^= v >> 16;\n"
                "    return v;\n}\n"
            )
            value = (f"        uint32_t m = {p}_fmix32(h ^ ((uint32_t)(d + 1) * 0x{GOLDEN32:X}u)) >> {DITHER_SHIFT};\n"
                     f"        float v = obs[d] - {p}_gaps[d] * (float)(2 * (int)m - {DITHER_LEVELS - 1}) * {1 / (2 * DITHER_LEVELS)!r}f; /* exact products */\n")
        hash_lines = (
            f"    uint32_t h = {FNV_OFFSET32}u; /* FNV-1a over the observation's float32 bit patterns */\n"
            f"    for (int j = 0; j < {enc.n_inputs}; j++) {{ uint32_t u; memcpy(&u, &obs[j], 4); h = (h ^ u) * {FNV_PRIME32}u; }}\n"
            if dither else ""
        )
        if levels:  # a thermometer's ones are its count k of edges at or below v
            out.append(
                f"\nstatic void {p}_levels(const float *obs, int32_t *t) {{\n"
                + hash_lines
                + f"    for (int d = 0; d < {enc.n_inputs}; d++) {{\n"
                + value
                + "        int k = 0; /* a NaN passes no edge: every comparison with it is false */\n"
                + compare
                + f"        t[d] = 2 * k - ({p}_bit_offsets[d + 1] - {p}_bit_offsets[d]);\n"
                + "    }\n}\n\n"
            )
            return "".join(out)
        out.append(
            f"\nstatic void {p}_encode(const float *obs, uint64_t *bits) {{\n"
            f"    for (int w = 0; w < {nw0}; w++) bits[w] = 0;\n"
            + hash_lines
            + f"    for (int d = 0; d < {enc.n_inputs}; d++) {{\n"
            + value
            + "        if (v != v) continue; /* NaN sets no bit */\n"
            "        int k = 0;\n"
            + compare
            + set_bits
            + "    }\n}\n\n"
        )
    elif isinstance(enc, RawBitsEncoder):
        out.append(
            f"\nstatic void {p}_encode(const float *obs, uint64_t *bits) {{\n"
            f"    for (int w = 0; w < {nw0}; w++) bits[w] = 0;\n"
            f"    for (int i = 0; i < {enc.n_inputs}; i++) bits[i >> 3] |= (uint64_t)(uint8_t)obs[i] << (8 * (i & 7));\n"
            "}\n\n"
        )
    else:  # pragma: no cover - every encoder kind is handled above
        raise ConfigError(f"cannot export encoder {enc.name!r} to C")

    return "".join(out)


def _export_planes(net, env_id: str | None, prefix: str) -> str:
    """A ``binary_planes`` network (:mod:`genome.nets.planes`): the encoder's thermometer bits,
    ``T_d = 2 ones_d - K_d`` per dimension, and each output's score as the sum over the
    planes ``b`` of ``2^b (+-T_d)`` (the plane's bit: 1 = +1), all in ``int32_t``."""
    enc, head, p = net.encoder, net.head, prefix
    n_out, dims, planes = net.n_outputs, net.n_inputs, net.planes
    cols = dims + int(net.bias)
    utype = "uint8_t" if planes <= 8 else "uint16_t"
    out = _preamble(p, "binary plane", env_id, f"{n_out} outputs x ({dims} dimensions{' + bias' if net.bias else ''}) weights of {planes} "
                    f"+-1 planes, encoder '{enc.name}', head '{head.name if head else 'argmax'}'.", dims, n_out, head)
    out.append("\n" + _encoder_c(enc, p, levels=True))
    # each weight's planes as the digits of U = (q + 2^B - 1) / 2 (bit b set: plane b is +1)
    digits = (net.weights.reshape(-1) + (1 << planes) - 1) // 2
    out.append(_c_array(utype, f"{p}_planes", digits, str))
    out.append(
        f"\nvoid {p}_scores(const float *obs, int32_t *scores) {{\n"
        f"    int32_t t[{cols}];\n"
        f"    {p}_levels(obs, t); /* T_d = 2 popcount(dimension d's bits) - K_d */\n"
        + (f"    t[{dims}] = {net.bias_input}; /* the bias reads {net.bias_input} constant +1 bits */\n" if net.bias else "") +
        f"    for (int j = 0; j < {n_out}; j++) {{\n        int32_t s = 0;\n"
        f"        for (int d = 0; d < {cols}; d++) {{\n"
        f"            uint32_t u = {p}_planes[j * {cols} + d];\n"
        f"            for (int b = 0; b < {planes}; b++) s += (((u >> b) & 1u) ? t[d] : -t[d]) * (int32_t)(1 << b);\n"
        "        }\n        scores[j] = s;\n    }\n}\n"
    )
    out.append(_act_functions(p, head, n_out, "int32_t"))
    return "".join(out)


def _state_struct(p: str, fields: str) -> str:
    """The caller-owned state of a policy with memory, and its reset (every episode's start)."""
    return (f"/* The policy's memory: one per episode being played; {p}_reset at every episode's start. */\n"
            f"typedef struct {{ {fields} }} {p}_state;\n\n"
            f"void {p}_reset({p}_state *st) {{\n    memset(st, 0, sizeof *st);\n}}\n\n")


def _act_functions(p: str, head, n_out: int, score_type: str, stateful: bool = False) -> str:
    """``{p}_act`` (argmax) or ``{p}_act_continuous`` (bins / tanh head) over ``{p}_scores``;
    a policy with memory takes its ``{p}_state *`` first."""
    arg, call = (f"{p}_state *st, ", "st, ") if stateful else ("", "")
    if head is None or head.kind == ARGMAX:
        return (
            f"\nint {p}_act({arg}const float *obs) {{\n"
            f"    {score_type} s[{n_out}];\n"
            f"    {p}_scores({call}obs, s);\n"
            "    int best = 0;\n"
            f"    for (int j = 1; j < {n_out}; j++) if (s[j] > s[best]) best = j;\n"
            "    return best;\n}\n"
        )
    out = [_c_array("float", f"{p}_action_low", head.low, _float), _c_array("float", f"{p}_action_high", head.high, _float)]
    lines = [
        f"\nvoid {p}_act_continuous({arg}const float *obs, float *action) {{\n",
        f"    {score_type} s[{n_out}];\n",
        f"    {p}_scores({call}obs, s);\n",
        f"    for (int d = 0; d < {head.action_dim}; d++) {{\n",
        f"        float lo = {p}_action_low[d], hi = {p}_action_high[d];\n",
    ]
    if head.kind == BINS:
        lines += [
            f"        int best = d * {head.bins};\n",
            f"        for (int j = best + 1; j < (d + 1) * {head.bins}; j++) if (s[j] > s[best]) best = j;\n",
            f"        int k = best - d * {head.bins};\n",
            f"        action[d] = (float)((double)lo + (double)(hi - lo) * (double)k / (double)({head.bins} - 1));\n",
        ]
    elif head.kind == CLIP:
        lines.append("        double v = (double)s[d];\n        action[d] = (float)(v < (double)lo ? (double)lo : (v > (double)hi ? (double)hi : v));\n")
    elif head.kind == AFFINE:  # the integer readout: a = clip(alpha s + beta), alpha = half / scale, beta = mid
        lines += [
            "        double mid = 0.5 * ((double)lo + (double)hi);\n",
            "        double half = 0.5 * ((double)hi - (double)lo);\n",
            f"        double v = mid + half * ((double)s[d] / {float(head.scale)!r});\n",
            "        action[d] = (float)(v < (double)lo ? (double)lo : (v > (double)hi ? (double)hi : v));\n",
        ]
    else:
        lines += [
            "        double mid = 0.5 * ((double)lo + (double)hi);\n",
            "        double half = 0.5 * ((double)hi - (double)lo);\n",
            f"        action[d] = (float)(mid + half * tanh((double)s[d] / {float(head.scale)!r}));\n",
        ]
    lines.append("    }\n}\n")
    return "".join(out + lines)


def _double(v: float) -> str:
    return repr(float(v))


def _export_dense(net, env_id: str | None, prefix: str) -> str:
    """C source for a real-valued :class:`~genome.policies.dense.DenseNetwork`."""
    p = prefix
    sizes = net.layer_sizes
    head, norm = net.head, net.normalizer
    out = _preamble(p, net.family, env_id, f"Network {'-'.join(map(str, sizes))}, tanh hidden units, observation normalization, "
                    f"head '{head.name}'.", sizes[0], sizes[-1], head, string_h=False)
    out.append(f"#define {p.upper()}_MAX_WIDTH {max(sizes)}\n\n")
    out.append(_c_array("float", f"{p}_mean", norm.mean, _float))
    out.append(_c_array("float", f"{p}_std", norm.std, _float))
    out.append(_c_array("float", f"{p}_params", net.params, _float))
    body = [
        f"\nvoid {p}_scores(const float *obs, double *scores) {{\n",
        f"    double a[{p.upper()}_MAX_WIDTH]{f', h[{p.upper()}_MAX_WIDTH]' if len(sizes) > 2 else ''};\n",
        f"    for (int d = 0; d < {sizes[0]}; d++) {{\n",
        f"        double v = ((double)obs[d] - (double){p}_mean[d]) / (double){p}_std[d];\n",
        f"        a[d] = v < {_double(-norm.clip)} ? {_double(-norm.clip)} : (v > {_double(norm.clip)} ? {_double(norm.clip)} : v);\n",
        "    }\n",
    ]
    q = 0
    n_layers = len(sizes) - 1
    for layer in range(n_layers):
        n_in, n_out = sizes[layer], sizes[layer + 1]
        b0 = q + n_in * n_out
        dst = "scores" if layer == n_layers - 1 else "h"
        body.append(f"    for (int i = 0; i < {n_out}; i++) {{\n        double acc = 0.0;\n")
        body.append(f"        for (int j = 0; j < {n_in}; j++) acc += (double){p}_params[{q} + i * {n_in} + j] * a[j];\n")
        body.append(f"        acc += (double){p}_params[{b0} + i];\n")
        body.append(f"        {dst}[i] = {'acc' if dst == 'scores' else 'tanh(acc)'};\n    }}\n")
        if dst == "h":
            body.append(f"    for (int i = 0; i < {n_out}; i++) a[i] = h[i];\n")
        q = b0 + n_out
    body.append("}\n")
    out.extend(body)
    out.append(_act_functions(p, head, sizes[-1], "double"))
    return "".join(out)


def _export_recurrent(net, env_id: str | None, prefix: str) -> str:
    """C source for an ``lstm`` / ``gru`` :class:`~genome.policies.recurrent.RecurrentNetwork`:
    the state ``(h, c)`` in a caller-owned struct, sums as :mod:`genome.nets.recurrent`."""
    p = prefix
    s, head, norm = net.structure, net.head, net.normalizer
    lstm = s.cell == "lstm"
    hid, gates, n_x = s.hidden, s.gates, s.cell_inputs
    rows = gates * hid
    out = _preamble(p, s.cell, env_id, f"{'-'.join(map(str, s.layer_sizes))}: observation normalization, "
                    + (f"a tanh input layer of {s.input_width}, " if s.input_width else "")
                    + f"an {s.cell.upper()} cell of {hid} units (PyTorch's gates), a linear output layer, head '{head.name}'.",
                    s.n_in, s.n_out, head)
    out.append("\n" + _state_struct(p, f"double h[{hid}];" + (f" double c[{hid}];" if lstm else "")))
    out.append(_c_array("float", f"{p}_mean", norm.mean, _float))
    out.append(_c_array("float", f"{p}_std", norm.std, _float))
    out.append(_c_array("float", f"{p}_params", net.genome, _float))
    out.append("\nstatic double " + p + "_sigmoid(double v) {\n    return 1.0 / (1.0 + exp(-v));\n}\n")
    body = [
        f"\nvoid {p}_scores({p}_state *st, const float *obs, double *scores) {{\n",
        f"    double x[{s.n_in}], xin[{n_x}], pre[{rows}]{'' if lstm else f', hn[{hid}]'};\n",
        f"    for (int d = 0; d < {s.n_in}; d++) {{\n",
        f"        double v = ((double)obs[d] - (double){p}_mean[d]) / (double){p}_std[d];\n",
        f"        x[d] = v < {_double(-norm.clip)} ? {_double(-norm.clip)} : (v > {_double(norm.clip)} ? {_double(norm.clip)} : v);\n",
        "    }\n",
    ]
    q = 0
    if s.input_width:
        b0 = q + s.input_width * s.n_in
        body.append(f"    for (int i = 0; i < {s.input_width}; i++) {{\n        double acc = 0.0;\n"
                    f"        for (int j = 0; j < {s.n_in}; j++) acc += (double){p}_params[{q} + i * {s.n_in} + j] * x[j];\n"
                    f"        xin[i] = tanh(acc + (double){p}_params[{b0} + i]);\n    }}\n")
        q = b0 + s.input_width
    else:
        body.append(f"    for (int j = 0; j < {s.n_in}; j++) xin[j] = x[j];\n")
    w_ih, w_hh = q, q + rows * n_x
    b_ih, b_hh = w_hh + rows * hid, w_hh + rows * hid + rows
    q = b_hh + rows
    body.append(f"    for (int r = 0; r < {rows}; r++) {{\n        double ai = 0.0, ah = 0.0;\n"
                f"        for (int j = 0; j < {n_x}; j++) ai += (double){p}_params[{w_ih} + r * {n_x} + j] * xin[j];\n"
                f"        for (int j = 0; j < {hid}; j++) ah += (double){p}_params[{w_hh} + r * {hid} + j] * st->h[j];\n")
    if lstm:
        body.append(f"        pre[r] = ai + ah + (double){p}_params[{b_ih} + r] + (double){p}_params[{b_hh} + r];\n    }}\n")
        body.append(f"    for (int k = 0; k < {hid}; k++) {{\n"
                    f"        double i = {p}_sigmoid(pre[k]), f = {p}_sigmoid(pre[{hid} + k]);\n"
                    f"        double g = tanh(pre[{2 * hid} + k]), o = {p}_sigmoid(pre[{3 * hid} + k]);\n"
                    "        double c = f * st->c[k] + i * g;\n        st->c[k] = c;\n        st->h[k] = o * tanh(c);\n    }\n")
    else:
        body.append(f"        if (r >= {2 * hid}) {{ pre[r] = ai + (double){p}_params[{b_ih} + r]; hn[r - {2 * hid}] = ah + (double){p}_params[{b_hh} + r]; }}\n"
                    f"        else pre[r] = ai + ah + (double){p}_params[{b_ih} + r] + (double){p}_params[{b_hh} + r];\n    }}\n")
        body.append(f"    for (int k = 0; k < {hid}; k++) {{\n"
                    f"        double r_ = {p}_sigmoid(pre[k]), z = {p}_sigmoid(pre[{hid} + k]);\n"
                    f"        double n = tanh(pre[{2 * hid} + k] + r_ * hn[k]);\n"
                    "        st->h[k] = (1.0 - z) * n + z * st->h[k];\n    }\n")
    body.append(f"    for (int i = 0; i < {s.n_out}; i++) {{\n        double acc = 0.0;\n"
                f"        for (int j = 0; j < {hid}; j++) acc += (double){p}_params[{q} + i * {hid} + j] * st->h[j];\n"
                + (f"        acc += (double){p}_params[{q + s.n_out * hid} + i];\n" if s.output_bias else "")
                + "        scores[i] = acc;\n    }\n}\n")
    out.extend(body)
    out.append(_act_functions(p, head, s.n_out, "double", stateful=True))
    return "".join(out)


#: network ``kernel`` -> C exporter
EXPORTERS = {"binary": _export_binary, "binary_planes": _export_planes, "binary_recurrent": _export_binary, "dense": _export_dense, "recurrent": _export_recurrent}
