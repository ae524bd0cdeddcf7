"""The resume check the run tests share: a run stopped early and resumed from its last
checkpoint must end with the same policy file, byte for byte, as the run done in one go."""

from dataclasses import replace

import genome
from genome.trainer import Trainer


def assert_resume_is_byte_identical(cfg, tmp_path, first: int):
    """Train ``cfg`` whole into ``tmp_path/whole``; train its first ``first`` generations into
    ``tmp_path/part``, restore that run and finish it; assert both ``policy.gbn`` files are the
    same bytes. Returns ``(whole, resumed)``: the two runs' results."""
    whole = genome.train(cfg, run_dir=tmp_path / "whole")
    genome.train(cfg.replace(run=replace(cfg.run, generations=first)), run_dir=tmp_path / "part")
    trainer = Trainer(cfg, run_dir=tmp_path / "part")
    trainer.restore()
    resumed = trainer.run()
    assert (tmp_path / "part" / "policy.gbn").read_bytes() == (tmp_path / "whole" / "policy.gbn").read_bytes()
    return whole, resumed
