"""The commands jobs print for a person: how leadup is started, and each file's next steps.

A summary is read in cron's log or in a chat channel, far from the shell that started the
run, so every command it prints names leadup by a path that works from any folder and the job
file by its absolute path. The engine's next steps (`UploadReport.next_steps`) keep their
advice; their commands become the job's own: `leadup jobs reprocess NAME --file F --include-*`
(the job's lock, history and ledger stay in step, which `leadup retry` on the archived
results file would bypass), or `leadup jobs run NAME` for a file the next run resumes.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from jobs.config import DEFAULT_CONFIG_NAME, JobConfig
from jobs.report import FileStep
from uploader.model import Outcome
from uploader.report import NextStep

# `leadup jobs reprocess` resends failed rows; these flags add the other outcomes, as for
# `leadup retry`.
INCLUDE_FLAGS: dict[Outcome, str] = {
    Outcome.UNKNOWN: "--include-unknown",
    Outcome.REJECTED: "--include-rejected",
    Outcome.INVALID: "--include-invalid",
    Outcome.HELD: "--include-held",
}
RESUME_ADVICE = "not sent yet: the next run resumes this file; to resume it now"


def leadup_command() -> list[str]:
    """How cron should start leadup: this `leadup` script, the one installed with this Python,
    the one on PATH, or this Python running the module (cron's PATH is not the user's)."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "leadup" and argv0.is_file():
        return [str(argv0.resolve())]
    beside_python = Path(sys.executable).absolute().parent / "leadup"  # same installation
    if beside_python.is_file():
        return [str(beside_python)]
    found = shutil.which("leadup")
    if found:
        return [str(Path(found).resolve())]
    # A venv's python is a symlink that must not be resolved, or the venv is lost.
    return [str(Path(sys.executable).absolute()), "-m", "uploader"]


def program() -> str:
    """leadup as a printed command should start it: `leadup` when PATH finds this very
    installation, else its absolute path (ready for a shell)."""
    words = leadup_command()
    found = shutil.which("leadup")
    if len(words) == 1 and found and os.path.realpath(found) == os.path.realpath(words[0]):
        return "leadup"
    return shlex.join(words)


def job_command(job: JobConfig, program: str, verb: str, options: Sequence[str] = ()) -> str:
    """`leadup jobs VERB NAME --config <the job file> OPTIONS`, ready for a shell."""
    config = job.config_path or Path(DEFAULT_CONFIG_NAME).absolute()
    words = [verb, job.name, "--config", str(config), *options]
    return " ".join([program, "jobs", *map(shlex.quote, words)])


def reprocess_options(include: Collection[Outcome], files: Sequence[str] = ()) -> list[str]:
    """The options of `leadup jobs reprocess` for these files and outcomes."""
    words = [word for name in files for word in ("--file", name)]
    return words + [flag for outcome, flag in INCLUDE_FLAGS.items() if outcome in include]


def file_steps(
    job: JobConfig,
    steps: Sequence[NextStep],
    *,
    file: str,
    program: str,
    finished: bool,
    resume: tuple[str, Sequence[str]] = ("run", ()),
) -> tuple[FileStep, ...]:
    """The engine's steps for one file, with the job's commands.

    A `finished` file is in the archive and the ledger: its rows are reprocessed. An
    unfinished one resumes first (`resume`: the verb and options that do it, `jobs run NAME`
    by default); what its other rows need is said once it has finished.
    """
    found: list[FileStep] = []
    for step in steps:
        if step.outcome is Outcome.PENDING:
            command = job_command(job, program, *resume)
            found.append(FileStep("pending", step.rows, RESUME_ADVICE, command))
        elif finished and (step.outcome is Outcome.FAILED or step.outcome in INCLUDE_FLAGS):
            options = reprocess_options({step.outcome}, [file])
            command = job_command(job, program, "reprocess", options)
            found.append(FileStep(step.outcome.value, step.rows, step.advice, command))
    return tuple(found)
