"""What a run reports while it trains: TensorBoard event files and the progress display.

Scalars per generation (``tensorboard --logdir outputs``):

* ``fitness/mean``, ``fitness/max``, ``fitness/min`` -- members' returns
* ``center/return``, ``center/rank`` -- the center network's check and the fraction of
  members it beats; ``eval/return_mean`` when a stopping test ran
* ``search/entropy_bits_mean``, ``search/prob_spread``, ``search/saturated_fraction``,
  ``search/grad_norm``, ``search/lr`` -- the search distribution
* ``perf/frames``, ``perf/frames_per_s``

and a histogram ``search/logits`` every ``run.histogram_every`` generations.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SKIP = {"generation", "seconds"}


class TensorBoardLog:
    """Event files in the run directory (tensorboardX writer). ``purge_step`` on resume makes
    TensorBoard drop events a crashed session wrote after its last checkpoint."""

    def __init__(self, run_dir: Path, purge_step: int | None = None, histogram_every: int = 10):
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=str(run_dir), purge_step=purge_step, flush_secs=5)
        self.histogram_every = histogram_every

    def write(self, row: dict, logits: np.ndarray | None = None) -> None:
        step = int(row["generation"])
        for key, value in row.items():
            if key not in SKIP and isinstance(value, (int, float)) and np.isfinite(value):
                self.writer.add_scalar(key, float(value), step)
        if logits is not None and self.histogram_every and step % self.histogram_every == 0:
            self.writer.add_histogram("search/logits", np.asarray(logits, dtype=np.float64), step)

    def text(self, tag: str, text: str) -> None:
        self.writer.add_text(tag, text, 0)

    def close(self) -> None:
        self.writer.close()


def _rate(per_s: float) -> str:
    return f"{per_s / 1e6:.1f}M" if per_s >= 1e6 else f"{per_s / 1e3:.0f}k"


def _line(row: dict) -> str:
    return (
        f"gen {row['generation']:5d}  frames {row['perf/frames'] / 1e6:8.2f}M  "
        f"members mean {row['fitness/mean']:9.2f} max {row['fitness/max']:9.2f}  "
        f"center {row['center/return']:9.2f} (beats {100 * row['center/rank']:3.0f}%)  "
        f"{_rate(row['perf/frames_per_s']):>6s} frames/s"
    )


class Progress:
    """``mode``: ``"live"`` (rich progress bar, for terminals), ``"plain"`` (a line every
    ``every`` generations, for pipes and CI) or ``"quiet"``."""

    def __init__(self, mode: str = "plain", every: int = 10, generations: int = 0, max_frames: int = 0, max_seconds: float = 0.0, stream=None):
        self.mode = mode
        self.every = max(1, every)
        self.stream = stream or sys.stdout
        self._bar = None
        self.budget = None
        if generations:
            self.budget = ("generation", generations)
        elif max_frames:
            self.budget = ("frames", max_frames)
        elif max_seconds:
            self.budget = ("seconds", max_seconds)
        if mode == "live":
            from rich.console import Console
            from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            columns = [TextColumn("[bold]gen {task.fields[gen]:>5}"), BarColumn(), TimeElapsedColumn()]
            if self.budget:
                columns.append(TimeRemainingColumn())
            columns.append(TextColumn("{task.fields[stats]}"))
            self._bar = RichProgress(*columns, console=Console(file=self.stream), transient=False)
            self._task = self._bar.add_task("train", total=self.budget[1] if self.budget else None, gen=0, stats="")
            self._bar.start()

    @staticmethod
    def auto_mode(quiet: bool, stream=None) -> str:
        if quiet:
            return "quiet"
        stream = stream or sys.stdout
        return "live" if hasattr(stream, "isatty") and stream.isatty() else "plain"

    def update(self, row: dict) -> None:
        if self.mode == "plain" and row["generation"] % self.every == 0:
            print(_line(row), file=self.stream, flush=True)
        elif self.mode == "live":
            done = {"generation": row["generation"] + 1, "frames": row["perf/frames"], "seconds": row["seconds"]}
            completed = done[self.budget[0]] if self.budget else row["generation"] + 1
            stats = (
                f"mean {row['fitness/mean']:.1f}  best {row['fitness/max']:.1f}  center {row['center/return']:.1f}  "
                f"{_rate(row['perf/frames_per_s'])} frames/s"
            )
            self._bar.update(self._task, completed=completed, gen=row["generation"], stats=stats)

    def message(self, text: str) -> None:
        if self.mode == "quiet":
            return
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
