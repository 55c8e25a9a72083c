"""One run per output (or per job): an exclusive lock file naming the process holding it.

`flock` belongs to the open file, so the kernel releases it when the process ends, however
it ends: a lock file left by a run that died is not a lock. A run that ends well removes the
file. Unlinking a lock file could let two runs lock two different files of one name (one
locks the old inode just before it is unlinked, the next creates a new one), so a run that
took the lock checks that the name still leads to the inode it locked, and tries again if not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from uploader.errors import JournalError
from uploader.run.request import state_folder_for

_FILE_MODE = 0o600
_PID_WAIT_S = 0.2  # how long to wait for a new holder to write its pid


def lock_path_for(results_path: Path) -> Path:
    """The lock file of a results file, in the hidden folder beside it."""
    return state_folder_for(results_path) / (results_path.name + ".lock")


class PidLock:
    """An exclusive `flock` on one file holding our pid; a second holder is refused at once.

    `busy(pid)` makes the error raised when another process holds it.
    """

    def __init__(self, path: Path, busy: Callable[[str], Exception]) -> None:
        self.path = path
        self._busy = busy
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        """Whether this object holds the lock now."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, or raise `busy(pid)` naming the process that has it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this lock")
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, _FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                raise self._busy(holder) from None
            except BaseException:
                os.close(fd)
                raise
            if _still_named(fd, self.path):
                break
            os.close(fd)  # its last holder removed it as we locked it: lock the new one
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next run in, and remove the file (see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                if _still_named(fd, self.path):
                    self.path.unlink()
            os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> PidLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _still_named(fd: int, path: Path) -> bool:
    """The locked file is still the one `path` names (nobody removed it meanwhile)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(fd: int) -> str:
    """The holder's pid; a holder that only just locked may not have written it yet."""
    deadline = time.monotonic() + _PID_WAIT_S
    while True:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text or time.monotonic() >= deadline:
            return text if text.isdigit() else "unknown"
        time.sleep(0.01)


class OutputLock(PidLock):
    """Held for a whole upload or retry of one results file (DECISIONS: refused, exit 2)."""

    def __init__(self, results_path: Path) -> None:
        self.results_path = results_path
        super().__init__(
            lock_path_for(results_path),
            lambda pid: JournalError(
                f"{results_path} is in use by another leadup run (pid {pid}); "
                "wait for it or stop it"
            ),
        )
