"""The documentation: generated pages equal what their script makes from the code and the
checked-in JSON, the configuration reference lists every key `genome train --help` lists,
the README stays a front page, and its quick commands run as printed."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import docs_pages  # noqa: E402  (benchmarks/docs_pages.py)


@pytest.mark.parametrize("page", sorted(docs_pages.PAGES))
def test_generated_pages_equal_the_generators_output(page):
    assert (ROOT / "docs" / page).read_text() == docs_pages.PAGES[page](), f"docs/{page} is stale: run python benchmarks/docs_pages.py"


def test_readme_headline_results_come_from_the_json():
    text = (ROOT / "README.md").read_text()
    assert docs_pages.readme_with_headline(text) == text, "README's headline table is stale: run python benchmarks/docs_pages.py"


def test_configuration_reference_lists_every_key_of_genome_train_help_with_its_default():
    out = subprocess.run([sys.executable, "-m", "genome.cli", "train", "--help"], capture_output=True, text=True, check=True).stdout
    listed = dict(re.findall(r"^  ([a-z_]+\.[a-z_0-9]+) \(default (.*?)\):", out, re.M))
    page = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    documented = dict(re.findall(r"^\| `([a-z_]+\.[a-z_0-9]+)` \| `(.*?)` \|", page, re.M))
    assert listed and listed == documented


def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < 250
    first = "\n".join(lines[:8])
    assert 'pip install -e ".[dev]"' in first and "genome train cartpole" in first and "pytest" in first


#: README commands quick enough for the test suite (the others are benchmarks' and the guides')
QUICK = re.compile(r"^genome (train cartpole --name cp|eval outputs/cp|export outputs/cp|presets|train --resume outputs/cp)")


def test_the_readmes_quick_commands_run_as_printed(tmp_path):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    commands = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    quick = [c for c in commands if QUICK.match(c)]
    assert len(quick) >= 5
    for command in quick:
        args = shlex.split(command)
        proc = subprocess.run([sys.executable, "-m", "genome.cli", *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{command}: {proc.stderr}"
    assert (tmp_path / "outputs" / "cp" / "policy.gbn").is_file() and (tmp_path / "policy.c").is_file()
