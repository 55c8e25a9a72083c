"""What a run is asked to do: the file, the settings, and where its results go."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from uploader.settings import PrepareOptions, ReadOptions, UploadSettings


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """One file to upload and how."""

    input_path: Path
    settings: UploadSettings
    output_path: Path | None = None  # default: <input stem>.results.csv beside the input
    read: ReadOptions = field(default_factory=ReadOptions)
    prepare: PrepareOptions = field(default_factory=PrepareOptions)
    mapping_path: Path | None = None
    restart: bool = False  # start over: the earlier results and journal are kept, renamed
    # --restart where rows were already created sends them again: only when the person said
    # so (a terminal's confirmation, or --resend-created); else ResendNeedsConfirmation.
    resend_created: bool = False
    # How the person runs leadup (`.venv/bin/leadup`), and this run's whole command, both
    # ready for a shell: the report's next steps are commands that run as printed.
    program: str = "leadup"
    command: str = ""

    @property
    def results_path(self) -> Path:
        if self.output_path is not None:
            return self.output_path
        ping = self.settings.ping
        quoting = ping is not None and not ping.post
        return default_results_path(self.input_path, "quote" if quoting else "results")


STATE_FOLDER = ".leadup"  # beside the results file: its journal and lock, out of sight


def default_results_path(input_path: Path, kind: str = "results") -> Path:
    """Beside the input: `leads.csv` -> `leads.results.csv`; any other name keeps its
    extension (`leads.xlsx` -> `leads.xlsx.results.csv`), so that two inputs of one stem never
    share a results file or journal. A quote's is `.quote.csv`."""
    stem = input_path.stem if input_path.suffix == ".csv" else input_path.name
    return input_path.with_name(f"{stem}.{kind}.csv")


def state_folder_for(results_path: Path) -> Path:
    """The hidden folder beside a results file that holds its journal and lock."""
    return results_path.parent / STATE_FOLDER


def journal_path_for(results_path: Path) -> Path:
    """The journal that renders a results file, in the hidden folder beside it."""
    return state_folder_for(results_path) / (results_path.name + ".journal")


def legacy_journal_path_for(results_path: Path) -> Path:
    """Where leadup 0.1 kept the journal: right beside the results file."""
    return results_path.with_name(results_path.name + ".journal")
