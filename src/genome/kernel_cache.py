"""Keep numba's on-disk kernel cache consistent with genome's sources.

numba (``cache=True``) keys a cached kernel by its *own* source file only. A kernel that
inlines code from another module (the fused rollouts inline the environments, the action
heads and the network kernels) keeps running the old machine code after that other module
changes -- after an upgrade in place, or a ``git pull`` in an editable install. So on
import, genome fingerprints all its ``.py`` sources (a content hash, ~1 ms) and, when the
fingerprint differs from the one stored beside the cache, removes genome's cached kernels
once; they recompile on first use. A read-only installation is left alone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
STAMP = PACKAGE / "__pycache__" / "genome-kernels.stamp"


def fingerprint(package: Path = PACKAGE) -> str:
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:32]


def check(package: Path = PACKAGE, stamp: Path = STAMP) -> bool:
    """Remove stale cached kernels; True if anything had to be removed."""
    try:
        current = fingerprint(package)
        if stamp.is_file() and stamp.read_text().strip() == current:
            return False
        removed = False
        for cached in [*package.rglob("__pycache__/*.nbi"), *package.rglob("__pycache__/*.nbc")]:
            try:
                cached.unlink()
                removed = True
            except FileNotFoundError:
                pass
        stamp.parent.mkdir(exist_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(current + "\n")
        os.replace(tmp, stamp)
        return removed
    except OSError:  # a read-only installation: numba caches elsewhere, nothing to do here
        return False
