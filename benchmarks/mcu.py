"""Policies on a microcontroller: flash and RAM of `genome export --format c` output,
cross-compiled for a Cortex-M4 (`arm-none-eabi-gcc -Os -mcpu=cortex-m4 -mthumb`).

Run:  python benchmarks/mcu.py [ENV ...] [--keep DIR]

For each environment (hopper, halfcheetah, swimmer, lunarlander, cartpole-pomdp) the binary,
real linear, Toeplitz and chromatic policies (the `*-binary`, `*-ars`, `*-toeplitz`, `*-chromatic`
presets; `--keep DIR`: the trained runs `DIR/PRESET-0/` when present, else the preset's
architecture with its initial genome -- the sizes depend on the architecture, not on the
weights' values) are exported to C and compiled twice:

* the policy alone (`-c`): its code (`.text`) and constant tables (`.rodata`) are the flash
  it needs, `.data + .bss` the static RAM, and `-fstack-usage` the stack of one action;
* linked into a minimal firmware (`main` calls the act function once; newlib-nano,
  `-Wl,--gc-sections`), minus the same firmware without the policy: what the policy adds to
  a real image, software floating point and `libm` (`tanh`, `exp`) included.

Needs Debian's `gcc-arm-none-eabi` (`apt-get install gcc-arm-none-eabi`). Writes
benchmarks/results/mcu.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import RESULTS, save  # benchmarks/common.py (the script's directory is on sys.path)

CC = "arm-none-eabi-gcc"
CFLAGS = ["-Os", "-mcpu=cortex-m4", "-mthumb", "-std=c99"]
#: environment -> [(label, preset)]
POLICIES = {
    "hopper": [("binary", "hopper-binary"), ("linear", "hopper-ars"), ("toeplitz", "hopper-toeplitz"), ("chromatic", "hopper-chromatic")],
    "halfcheetah": [("binary", "halfcheetah-binary"), ("linear", "halfcheetah-ars"), ("toeplitz", "halfcheetah-toeplitz"),
                    ("chromatic", "halfcheetah-chromatic")],
    "swimmer": [("binary", "swimmer-binary"), ("linear", "swimmer-ars"), ("chromatic", "swimmer-chromatic")],
    "lunarlander": [("binary", "lunarlander"), ("linear", "lunarlander-es")],
    "cartpole-pomdp": [("binary_rnn", "cartpole-pomdp"), ("lstm", "cartpole-pomdp-lstm")],
}
MAIN = """#include <stdint.h>
{decl}
volatile float obs_in[{n_obs}];
volatile float sink;
int main(void) {{
{call}
    return 0;
}}
"""


def policy_network(preset: str, keep: Path | None):
    """``(network, weight + threshold bits, trained)``: the trained policy of
    ``keep/PRESET-0`` if there is one, else the preset's architecture with the strategy's
    initial center; the bits as ``summary.json`` counts them (chromatic: the paper's
    storage bits of the shared weights and the coloring)."""
    import genome
    from genome.build import build
    from genome.config import load

    run = keep / f"{preset}-0" if keep else None
    if run is not None and (run / "policy.gbn").is_file():
        summary = json.loads((run / "summary.json").read_text())
        return genome.load_policy(run).network, summary.get("storage_bits", summary["size_bits"]), True
    cfg, _ = load(preset)
    setup = build(cfg)
    center = setup.strategy.center(setup.strategy.init(0))
    family = setup.family.with_stats(setup.stats) if setup.stats is not None else setup.family
    bits = family.architecture(center)["bits"] if hasattr(family, "architecture") else family.size_bits
    return family.decode(center), int(bits), False


def size(path: Path) -> dict:
    """``arm-none-eabi-size -A`` sections of an object or ELF file."""
    out = subprocess.run(["arm-none-eabi-size", "-A", str(path)], capture_output=True, text=True, check=True).stdout
    sections = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    return sections


def flash_ram(sections: dict) -> tuple[int, int]:
    text = sum(v for k, v in sections.items() if k.startswith(".text") or k.startswith(".rodata"))
    data = sum(v for k, v in sections.items() if k.startswith(".data"))
    bss = sum(v for k, v in sections.items() if k.startswith(".bss"))
    return text + data, data + bss


def firmware(tmp: Path, name: str, source: str, extra: list[str]) -> tuple[int, int]:
    main = tmp / f"{name}_main.c"
    main.write_text(source)
    elf = tmp / f"{name}.elf"
    cmd = [CC, *CFLAGS, "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections", "-ffunction-sections", "-fdata-sections",
           str(main), *extra, "-o", str(elf), "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return flash_ram(size(elf))


def measure(net, label: str, tmp: Path) -> dict:
    from genome.export_c import export_c

    src = tmp / f"{label}.c"
    src.write_text(export_c(net))
    obj = tmp / f"{label}.o"
    subprocess.run([CC, *CFLAGS, "-fstack-usage", "-c", str(src), "-o", str(obj)], check=True, capture_output=True, text=True)
    flash, ram = flash_ram(size(obj))
    stack = 0
    su = obj.with_suffix(".su")
    for line in su.read_text().splitlines():
        m = re.match(r".*:(genome_act\w*|genome_scores|genome_encode)\s+(\d+)", line)
        if m:
            stack = max(stack, int(m.group(2)))
    stateful = net.state_size > 0
    continuous = net.head is not None and net.head.kind != 0
    n_obs = net.encoder.n_inputs if net.encoder is not None else net.layer_sizes[0]
    if stateful:
        decl = "#include <string.h>\n" + "".join(l + "\n" for l in src.read_text().splitlines() if l.startswith("typedef struct"))
        decl += "void genome_reset(genome_state *st);\n"
        state = "    static genome_state st;\n    genome_reset(&st);\n"
        arg = "&st, "
    else:
        decl, state, arg = "", "", ""
    if continuous:
        decl += f"void genome_act_continuous({'genome_state *st, ' if stateful else ''}const float *obs, float *action);\n"
        call = state + f"    float action[{net.head.action_dim}];\n    genome_act_continuous({arg}(const float *)obs_in, action);\n    sink = action[0];\n"
    else:
        decl += f"int genome_act({'genome_state *st, ' if stateful else ''}const float *obs);\n"
        call = state + f"    sink = (float)genome_act({arg}(const float *)obs_in);\n"
    with_policy = firmware(tmp, label, MAIN.format(decl=decl, n_obs=n_obs, call=call), [str(src)])
    empty = firmware(tmp, f"{label}_empty", MAIN.format(decl="", n_obs=n_obs, call="    sink = obs_in[0];\n"), [])
    return {"policy_flash": flash, "policy_static_ram": ram, "stack": stack, "state_bytes": 8 * net.state_size if stateful else 0,
            "firmware_flash_added": with_policy[0] - empty[0], "firmware_ram_added": with_policy[1] - empty[1],
            "family": getattr(net, "family", "binary_mlp"), "layer_sizes": list(net.layer_sizes), "n_obs": int(n_obs),
            "filter_bits": 64 * int(n_obs)}


def table(results: dict) -> str:
    out = ["| environment | policy | preset | weight + threshold bits | policy flash (text + rodata) | static RAM | stack of one action | firmware flash added (with libm, soft double) | trained |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for env, rows in results.items():
        for r in rows:
            stack = f"{r['stack']:,} B" + (f" + {r['state_bytes']} B state" if r["state_bytes"] else "")
            trained = "yes" if r["trained"] else "architecture only"
            out.append(f"| {env} | {r['label']} | `{r['preset']}` | {r['bits']:,} | {r['policy_flash']:,} B | {r['policy_static_ram']:,} B | "
                       f"{stack} | {r['firmware_flash_added']:,} B | {trained} |")
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("envs", nargs="*", default=list(POLICIES))
    parser.add_argument("--keep", help="trained runs DIR/PRESET-0 (benchmarks/binary_mujoco.py compare --keep DIR)")
    parser.add_argument("--out", default=str(RESULTS / "mcu.json"))
    args = parser.parse_args(argv)
    if shutil.which(CC) is None:
        raise SystemExit(f"{CC} not found: install Debian's cross compiler with `apt-get install gcc-arm-none-eabi`")
    keep = Path(args.keep) if args.keep else None
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for env in args.envs:
            rows = []
            for label, preset in POLICIES[env]:
                net, bits, trained = policy_network(preset, keep)
                row = measure(net, f"{env}_{label}".replace("-", "_"), Path(tmp))
                row.update(label=label, preset=preset, trained=trained, bits=bits)
                rows.append(row)
                print(f"{env} {label}: {row['policy_flash']} B flash, {row['policy_static_ram']} B static RAM, {row['stack']} B stack", flush=True)
            results[env] = rows
    save(results, args.out)
    print(table(results))


if __name__ == "__main__":
    sys.exit(main())
