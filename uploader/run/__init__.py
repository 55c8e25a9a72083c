"""Running an upload: the public API that the faces (CLI, jobs, web) call, and nothing else."""

from uploader.report import UploadReport
from uploader.run.control import RunControl
from uploader.run.request import UploadRequest, default_results_path, journal_path_for
from uploader.run.upload import retry, upload

__all__ = [
    "RunControl",
    "UploadReport",
    "UploadRequest",
    "default_results_path",
    "journal_path_for",
    "retry",
    "upload",
]
