"""The web face's workspace: one private folder per dropped file, holding the file, the
choices made on its check page, its results and journal, and what its runs did.

Folders are 0700 and files 0600. A dropped file's name is reduced to a plain name of its own
inside a folder named by a random id, so no name (`../../x.csv`, `C:\\x.csv`) can leave it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uploader.errors import InputError
from uploader.run.request import default_results_path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
LEAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls")
_ID = re.compile(r"[0-9a-f]{16}")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w .()+-]")
_MAX_NAME = 120
META = "meta.json"


def safe_name(name: str) -> str:
    """A dropped file's name as a plain file name: its last part (either slash), letters,
    digits and a little punctuation, no leading dot; InputError if nothing usable is left or
    it is not a lead file by its extension."""
    last = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME_CHARS.sub("_", last).strip(" .")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or not stem or f".{suffix.lower()}" not in LEAD_SUFFIXES:
        raise InputError(
            f"not a lead file by its name: {name!r} (leadup reads {', '.join(LEAD_SUFFIXES)})"
        )
    return stem[: _MAX_NAME - len(suffix) - 1] + "." + suffix


def private_folder(path: Path) -> Path:
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write `data` whole or not at all, 0600 from the first byte."""
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temp, path)


def tighten(*paths: Path) -> None:
    """Files the engine wrote with the usual mode (a quote's chart and by-state figures):
    0600, as everything else in the workspace."""
    for path in paths:
        if path.exists():
            os.chmod(path, FILE_MODE)


@dataclass(frozen=True, slots=True)
class Upload:
    """One dropped file and everything the page did with it."""

    id: str
    folder: Path

    @property
    def meta(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.folder / META).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data

    def update(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the upload's record (one writer: the server's loop)."""
        meta = {**self.meta, **changes}
        write_private(self.folder / META, json.dumps(meta, indent=1).encode())
        return meta

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def input_path(self) -> Path:
        return self.folder / self.name

    @property
    def results_path(self) -> Path:
        return default_results_path(self.input_path)

    @property
    def quote_path(self) -> Path:
        return default_results_path(self.input_path, "quote")

    @property
    def check_path(self) -> Path:
        """The check page's own results file (invalid and skipped rows filled in)."""
        return self.folder / "check" / "check.results.csv"

    @property
    def mapping_path(self) -> Path:
        return self.folder / "mapping.toml"


class Workspace:
    """The folder of every dropped file; ids are random, so names never meet."""

    def __init__(self, root: Path) -> None:
        self.root = private_folder(root)

    def get(self, upload_id: str) -> Upload | None:
        """The upload of that id, or None (an id is 16 hex digits: nothing else is looked up)."""
        if not _ID.fullmatch(upload_id):
            return None
        folder = self.root / upload_id
        return Upload(upload_id, folder) if (folder / META).is_file() else None

    def uploads(self, limit: int = 30) -> list[Upload]:
        """The most recent uploads first."""
        found = [u for entry in self._folders() if (u := self.get(entry)) is not None]
        found.sort(key=lambda u: str(u.meta.get("uploaded", "")), reverse=True)
        return found[:limit]

    def _folders(self) -> Iterator[str]:
        with os.scandir(self.root) as entries:
            yield from (e.name for e in entries if e.is_dir(follow_symlinks=False))

    async def receive(
        self, name: str, chunks: AsyncIterator[bytes], limit_bytes: int
    ) -> Upload | None:
        """Store a dropped file under a new id; None, and nothing kept, when it passes
        `limit_bytes` (the rest of the stream is still read, so the browser gets the answer)."""
        plain = safe_name(name)
        upload_id = secrets.token_hex(8)
        folder = private_folder(self.root / upload_id)
        path = folder / plain
        size = 0
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size <= limit_bytes:
                    out.write(chunk)
        if size > limit_bytes:
            path.unlink()
            folder.rmdir()
            return None
        upload = Upload(upload_id, folder)
        upload.update(name=plain, uploaded=datetime.now(UTC).isoformat(timespec="seconds"))
        return upload
