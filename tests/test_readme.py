"""The README's examples are real output: each block marked `<!-- readme-example: NAME -->` is
run as written (its first line, after `$ `) on a copy of sample_data/, and what it prints must
match the block line for line, where a line `...` stands for any number of lines. Figures
that change from run to run (speed, the sandbox's random statuses and prices) are compared
with their digits masked; everything else exactly.
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


def matches(printed: list[str], expected: list[str]) -> bool:
    """Line for line, masked; `...` in `expected` matches any run of lines (even none)."""
    if not expected:
        return not printed
    if expected[0] == "...":
        return any(matches(printed[i:], expected[1:]) for i in range(len(printed) + 1))
    return (
        bool(printed)
        and masked(printed[0]) == masked(expected[0])
        and matches(printed[1:], expected[1:])
    )


async def test_the_readme_has_examples() -> None:
    assert [name for name, _, _ in examples()] == ["upload", "ping-post", "quote", "validate"]


@pytest.mark.slow
@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("command", "expected"), [pytest.param(c, e, id=name) for name, c, e in examples()]
)
def test_a_readme_example_prints_what_it_shows(
    command: str, expected: list[str], tmp_path: Path
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
    assert matches(printed, expected), "\n".join(printed)
