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
    restart: bool = False  # throw away an existing journal for this output and start over

    @property
    def results_path(self) -> Path:
        if self.output_path is not None:
            return self.output_path
        ping = self.settings.ping
        quoting = ping is not None and not ping.post
        return default_results_path(self.input_path, "quote" if quoting else "results")


def default_results_path(input_path: Path, kind: str = "results") -> Path:
    """`<input stem>.results.csv` (a quote: `.quote.csv`) beside the input."""
    return input_path.with_name(f"{input_path.stem}.{kind}.csv")


def journal_path_for(results_path: Path) -> Path:
    """The journal lives beside the results file it renders."""
    return results_path.with_name(results_path.name + ".journal")
