"""Never pay twice by accident, and always say what to do next (issue 11), through the CLI as
a person runs it, against the sandbox on loopback."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import KEY, SECRET, env_for, leadup
from tests.support.leads import HEADER, lead_rows, results_of, write_csv
from uploader.sandbox import Sandbox, SandboxConfig, Scripted, sandbox_in_thread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with sandbox_in_thread(SandboxConfig(api_key=KEY, api_secret=SECRET)) as sb:
        yield sb


def test_a_results_file_is_refused_with_the_command_that_resends_it(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "expo.csv", lead_rows(3))
    assert leadup("upload", str(path), env=env_for(sandbox)).returncode == 0
    results = tmp_path / "expo.results.csv"
    again = leadup("upload", str(results), env=env_for(sandbox))
    assert again.returncode == 2
    assert "this is a leadup results file" in again.stderr
    assert f"retry {results}" in again.stderr
    assert sandbox.state.created_count == 3  # nothing sent the second time
    assert not (tmp_path / "expo.results.results.csv").exists()


def test_a_copied_results_file_without_its_journal_is_recognised_by_its_columns(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "expo.csv", lead_rows(2))
    leadup("upload", str(path), env=env_for(sandbox))
    copy = tmp_path / "copy.csv"
    copy.write_bytes((tmp_path / "expo.results.csv").read_bytes())
    again = leadup("upload", str(copy), env=env_for(sandbox))
    assert again.returncode == 2 and "leadup results file" in again.stderr
    assert sandbox.state.created_count == 2


def test_csv_and_xlsx_of_one_stem_keep_their_own_results(tmp_path: Path, sandbox: Sandbox) -> None:
    from openpyxl import Workbook

    csv_path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [HEADER, *lead_rows(2, start=10)]:
        sheet.append(row)
    book.save(tmp_path / "leads.xlsx")
    first = leadup("upload", str(csv_path), env=env_for(sandbox))
    second = leadup("upload", str(tmp_path / "leads.xlsx"), env=env_for(sandbox))
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert len(results_of(tmp_path / "leads.results.csv")) == 3
    assert len(results_of(tmp_path / "leads.xlsx.results.csv")) == 2
    assert sandbox.state.created_count == 5


def test_an_output_of_another_file_is_refused_naming_it_and_never_suggesting_restart(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    a = write_csv(tmp_path / "a.csv", lead_rows(2))
    b = write_csv(tmp_path / "b.csv", lead_rows(2, start=50))
    shared = tmp_path / "shared.results.csv"
    assert leadup("upload", str(a), "-o", str(shared), env=env_for(sandbox)).returncode == 0
    refused = leadup("upload", str(b), "-o", str(shared), env=env_for(sandbox))
    assert refused.returncode == 2
    assert f"holds the results of another file, {a}" in refused.stderr
    assert "--output" in refused.stderr and "--restart" not in refused.stderr
    assert sandbox.state.created_count == 2


@pytest.mark.slow
def test_restart_without_a_terminal_needs_the_flag_and_keeps_the_earlier_results(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(4))
    leadup("upload", str(path), env=env_for(sandbox))
    refused = leadup("upload", str(path), "--restart", env=env_for(sandbox))
    assert refused.returncode == 2
    assert "4 rows were already created from leads.csv" in refused.stderr
    assert "--resend-created" in refused.stderr
    assert sandbox.state.created_count == 4
    again = leadup("upload", str(path), "--restart", "--resend-created", env=env_for(sandbox))
    assert again.returncode == 0, again.stderr
    assert sandbox.state.created_count == 8  # asked for, explicitly
    (kept,) = tmp_path.glob("leads.results.*.csv")
    assert [line["outcome"] for line in results_of(kept)] == ["created"] * 4
    assert any(lead.lead_public_id == results_of(kept)[0]["lead_public_id"]
               for lead in sandbox.state.leads)  # fmt: skip
    assert (tmp_path / ".leadup" / f"{kept.name}.journal").exists()


def test_a_finished_upload_run_again_sends_nothing_and_says_so(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    leadup("upload", str(path), env=env_for(sandbox))
    requests = sandbox.state.request_count
    again = leadup("upload", str(path), env=env_for(sandbox))
    assert again.returncode == 0 and sandbox.state.request_count == requests
    assert "already finished: nothing sent" in again.stdout
    assert "(earlier runs)" in again.stdout


def test_no_journal_or_lock_beside_the_spreadsheet(tmp_path: Path, sandbox: Sandbox) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    leadup("upload", str(path), env=env_for(sandbox))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".leadup",
        "leads.csv",
        "leads.results.csv",
    ]
    assert [p.name for p in (tmp_path / ".leadup").iterdir()] == ["leads.results.csv.journal"]


def run_as_printed(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """A next step's command as a person would paste it into a shell."""
    return subprocess.run(
        command, shell=True, env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_each_outcome_gets_a_next_step_whose_command_runs_as_printed(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    rows = lead_rows(6)
    rows[5][2] = "not-an-email"  # invalid: fixed in the results file below
    rows[5][3] = ""
    path = write_csv(tmp_path / "expo 2026.csv", rows)  # a name that needs quoting
    sandbox.push_script(
        Scripted(status=422, body={"message": "bad", "errors": {"zip": ["is wrong"]}}),
        Scripted(action="lose_response"),
        Scripted(status=503, headers={"Retry-After": "0"}),
    )
    env = env_for(sandbox) | {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    first = run_as_printed(
        f"{shlex.quote(str(Path(sys.executable).parent / 'leadup'))} upload "
        f"{shlex.quote(str(path))} --max-throttled 0 --concurrency 1",
        env,
        tmp_path,
    )
    assert first.returncode == 1, first.stderr
    counts = Counter(line["outcome"] for line in results_of(tmp_path / "expo 2026.results.csv"))
    assert counts == {"created": 2, "rejected": 1, "unknown": 1, "failed": 1, "invalid": 1}
    steps = first.stdout.split("next steps:")[1]
    commands = {
        outcome: line.strip()
        for outcome, line in zip(
            ("failed", "unknown", "rejected", "invalid"),
            [ln for ln in steps.splitlines() if ln.startswith("    ")],
            strict=True,
        )
    }
    assert "1 row failed: never reached the API" in steps
    assert "1 row unknown: may have been created" in steps
    assert commands["unknown"].endswith("--include-unknown")
    # leadup is on PATH here: the commands say `leadup`, and run as printed.
    assert all(c.startswith("leadup retry ") for c in commands.values()), commands
    for outcome in ("failed", "unknown", "rejected"):
        done = run_as_printed(commands[outcome], env, tmp_path)
        assert done.returncode in (0, 1), (commands[outcome], done.stderr)
    final = Counter(line["outcome"] for line in results_of(tmp_path / "expo 2026.results.csv"))
    assert final == {"created": 5, "invalid": 1}
    # The person fixes the invalid row's cell in the results file, then runs its command.
    results = tmp_path / "expo 2026.results.csv"
    results.write_text(
        results.read_text(encoding="utf-8-sig").replace("not-an-email", "fixed@example.com"),
        encoding="utf-8-sig",
    )
    assert run_as_printed(commands["invalid"], env, tmp_path).returncode == 0
    assert Counter(line["outcome"] for line in results_of(results)) == {"created": 6}
    # The unknown row had been created (its answer was lost): resending it, as its command
    # says to do only after checking the platform, created it again. Nothing else was.
    assert len(sandbox.state.keys_created_twice()) == 1


def test_commands_name_leadup_as_it_was_invoked_when_it_is_not_on_path(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    write_csv(tmp_path / "leads.csv", lead_rows(2))
    sandbox.push_script(Scripted(status=503, headers={"Retry-After": "0"}))
    program = Path(sys.executable).parent / "leadup"
    env = env_for(sandbox) | {"PATH": "/usr/bin:/bin"}
    assert shutil.which("leadup", path=env["PATH"]) is None
    done = run_as_printed(f"{program} upload leads.csv --max-throttled 0", env, tmp_path)
    assert done.returncode == 1, done.stderr
    (command,) = [ln.strip() for ln in done.stdout.splitlines() if ln.startswith("    ")]
    assert command == f"{program} retry leads.results.csv"
    assert run_as_printed(command, env, tmp_path).returncode == 0


def run_on_a_terminal(args: list[str], env: dict[str, str], answer: bytes) -> tuple[int, str]:
    """Run leadup with a pseudo-terminal as stdin/stdout/stderr, answer its one question."""
    import os
    import pty
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: leadup on the terminal
        os.execve(sys.executable, [sys.executable, "-m", "uploader", *args], env)
    seen, answered, deadline = b"", False, time.monotonic() + 50
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal: it is done
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(fd, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


@pytest.mark.slow
def test_restart_on_a_terminal_asks_first(tmp_path: Path, sandbox: Sandbox) -> None:
    import os

    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    env |= env_for(sandbox)
    leadup("upload", str(path), env=env_for(sandbox))
    code, screen = run_on_a_terminal(["upload", str(path), "--restart", "-q"], env, b"n\n")
    assert "3 rows were already created from leads.csv" in screen and "[y/N]" in screen
    assert code == 2 and sandbox.state.created_count == 3
    code, screen = run_on_a_terminal(["upload", str(path), "--restart", "-q"], env, b"y\n")
    assert code == 0, screen
    assert sandbox.state.created_count == 6  # the person said yes
    assert len(list(tmp_path.glob("leads.results.*.csv"))) == 1  # the earlier results kept


# -- memory of what was sent, across results files (issue 16, item 4) -----------------------


@pytest.mark.parametrize("second", ["another -o", "the default", "a symlink to the results"])
def test_the_same_content_under_another_results_file_is_refused(
    tmp_path: Path, sandbox: Sandbox, second: str
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    first_out = tmp_path / "first.results.csv"
    assert leadup("upload", str(path), "-o", str(first_out), env=env_for(sandbox)).returncode == 0
    if second == "another -o":
        args = ["-o", str(tmp_path / "second.results.csv")]
    elif second == "the default":
        args = []
    else:
        link = tmp_path / "link.results.csv"
        link.symlink_to(first_out)
        args = ["-o", str(link)]
    again = leadup("upload", str(path), *args, env=env_for(sandbox))
    assert again.returncode == 2, again.stdout
    assert "3 rows of this file's content were already created" in again.stderr
    assert f"whose results are {first_out}" in again.stderr
    assert "--resend-created" in again.stderr
    assert sandbox.state.created_count == 3  # nothing sent twice
    anyway = leadup("upload", str(path), *args, "--resend-created", env=env_for(sandbox))
    assert anyway.returncode == 0 and sandbox.state.created_count == 6  # asked for


def test_a_renamed_copy_of_the_same_content_is_refused_too(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    leadup("upload", str(path), env=env_for(sandbox))
    copy = tmp_path / "leads (1).csv"
    copy.write_bytes(path.read_bytes())
    again = leadup("upload", str(copy), env=env_for(sandbox))
    assert again.returncode == 2 and "leads.results.csv" in again.stderr
    assert sandbox.state.created_count == 3
