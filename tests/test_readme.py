"""The README's examples are real output: each block marked `<!-- readme-example: NAME -->` is
run as written (its first line, after `$ `) on a copy of sample_data/, and what it prints must
match the block line for line. Figures that change from run to run (speed, the sandbox's
random statuses and prices) are compared with their digits masked; everything else exactly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(r"<!-- readme-example: (?P<name>[\w-]+) -->\n```\n(?P<body>.*?)```", re.S)
# Lines whose figures vary between runs: compared with every digit masked.
VARYING = ("lead status:", "total price:", "this run:")


def examples() -> list[tuple[str, str, list[str]]]:
    found = []
    for match in EXAMPLE.finditer((ROOT / "README.md").read_text()):
        first, *expected = match["body"].rstrip("\n").split("\n")
        assert first.startswith("$ "), f"{match['name']}: the block starts with `$ command`"
        found.append((match["name"], first[2:], expected))
    return found


def masked(line: str) -> str:
    return re.sub(r"\d+", "N", line) if line.startswith(VARYING) else line


async def test_the_readme_has_examples() -> None:
    assert [name for name, _, _ in examples()] == ["upload"]


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize(("name", "command", "expected"), examples(), ids=lambda x: str(x)[:20])
def test_a_readme_example_prints_what_it_shows(
    name: str, command: str, expected: list[str], tmp_path: Path
) -> None:
    for sample in (ROOT / "sample_data").glob("*.csv"):
        shutil.copy(sample, tmp_path / sample.name)
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    env |= {"PATH": f"{bin_dir}:{env.get('PATH', '')}", "COLUMNS": "100"}
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=80
    )
    printed = done.stdout.rstrip("\n").split("\n")
    assert [masked(line) for line in printed] == [masked(line) for line in expected], done.stderr
