"""Checkpoints: the strategy state and the trainer's counters, so a run can resume exactly.

``RUN/checkpoints/gen-000010.npz`` is a NumPy ``.npz`` archive of plain arrays (loaded
with ``allow_pickle=False``; no pickle anywhere), written atomically (temporary file, then
rename). Every member of a zip archive carries a CRC, so a damaged file fails to load;
:func:`load_latest` then falls back to the newest checkpoint that loads, which is how a
run killed with SIGKILL in the middle of a write still resumes.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from genome.errors import ModelFormatError
from genome.io import atomic_write_bytes

FORMAT = 1
KEEP = 3
_NAME = re.compile(r"^gen-(\d{6,})\.npz$")


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save(run_dir: Path, generation: int, strategy_arrays: dict[str, np.ndarray], trainer_arrays: dict[str, np.ndarray], meta: dict) -> Path:
    """Write ``gen-<generation>.npz`` atomically and keep the newest :data:`KEEP` checkpoints."""
    arrays = {f"strategy/{k}": np.asarray(v) for k, v in strategy_arrays.items()}
    arrays.update({f"trainer/{k}": np.asarray(v) for k, v in trainer_arrays.items()})
    meta = dict(meta, format=FORMAT, generation=int(generation))
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    directory = checkpoint_dir(run_dir)
    path = directory / f"gen-{generation:06d}.npz"
    atomic_write_bytes(path, buffer.getvalue())
    for old in sorted(_list(directory), reverse=True)[KEEP:]:
        old[1].unlink(missing_ok=True)
    return path


def _list(directory: Path) -> list[tuple[int, Path]]:
    if not directory.is_dir():
        return []
    found = []
    for p in directory.iterdir():
        m = _NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return found


def read(path: Path) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(meta, strategy_arrays, trainer_arrays)`` of one checkpoint; raises ModelFormatError."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ModelFormatError(f"{path}: not a readable checkpoint ({exc})") from None
    if "meta" not in arrays:
        raise ModelFormatError(f"{path}: not a genome checkpoint (no metadata)")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{path}: corrupted checkpoint metadata ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelFormatError(f"{path}: checkpoint format {meta.get('format')} is not supported (expected {FORMAT})")
    strategy = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("strategy/")}
    trainer = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("trainer/")}
    return meta, strategy, trainer


def load_latest(run_dir: Path, warn=None) -> tuple[Path, dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The newest checkpoint that loads; damaged newer ones are reported through ``warn``
    and skipped. Raises :class:`ModelFormatError` when none loads."""
    directory = checkpoint_dir(run_dir)
    candidates = sorted(_list(directory), reverse=True)
    if not candidates:
        raise ModelFormatError(f"{run_dir}: no checkpoints to resume from (expected {directory}/gen-*.npz)")
    problems = []
    for _, path in candidates:
        try:
            meta, strategy, trainer = read(path)
            return path, meta, strategy, trainer
        except ModelFormatError as exc:
            problems.append(str(exc))
            if warn:
                warn(f"skipping damaged checkpoint: {exc}")
    raise ModelFormatError(f"{run_dir}: no checkpoint could be read ({'; '.join(problems)})")
