"""Running an upload: the public API that the faces (CLI, jobs, web) call, and nothing else."""

from uploader.report import UploadReport
from uploader.run.request import (
    ProgressSink,
    UploadRequest,
    default_results_path,
    journal_path_for,
)
from uploader.run.upload import retry, upload

__all__ = [
    "ProgressSink",
    "UploadReport",
    "UploadRequest",
    "default_results_path",
    "journal_path_for",
    "retry",
    "upload",
]
