"""What every handler of the web face shares: its config, workspace, runs and sessions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from uploader.errors import ConfigError
from uploader.run.control import RunControl
from uploader.settings import ApiSettings, PingPolicy, RatePolicy, UploadSettings
from uploader.web.checking import UploadOptions
from uploader.web.config import WebConfig
from uploader.web.runs import RunBook
from uploader.web.session import Sessions
from uploader.web.workspace import Upload, Workspace


@dataclass(slots=True)
class WebState:
    config: WebConfig
    api: ApiSettings
    workspace: Workspace
    runs: RunBook
    sessions: Sessions
    port: int = 0  # the bound port, once listening
    # The jobs page's runs (`--jobs`): job name -> its task, and what the last one said.
    job_runs: dict[str, tuple[asyncio.Task[Any], RunControl]] = field(default_factory=dict)
    job_summaries: dict[str, str] = field(default_factory=dict)
    _check_locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    @classmethod
    def of(cls, config: WebConfig) -> WebState:
        if config.api is None:
            raise ConfigError("leadup web needs the API's settings (or --sandbox)")
        return cls(
            config,
            config.api,
            Workspace(config.workspace),
            RunBook(config.api.credentials),
            Sessions(),
        )

    def hosts(self) -> set[str]:
        """The Host headers this server answers to ("*": any, when it listens on every
        address, which `leadup web` warns about)."""
        if self.config.host in ("0.0.0.0", "::"):
            return {"*"}
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        names = {host, *(("127.0.0.1", "localhost") if host == "127.0.0.1" else ())}
        return {f"{name}:{self.port}" for name in names}

    def destination(self) -> dict[str, object]:
        """Where leads go, as the page shows it: host, sandbox or not, the kind of
        credential (never the credential)."""
        parts = urlsplit(self.api.base_url)
        return {
            "host": parts.netloc,
            "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "sandbox": self.config.sandbox,
            "credential": "a token (Bearer)"
            if self.api.credentials.scheme == "Bearer"
            else "a key and secret (Basic)",
        }

    def settings(
        self, options: UploadOptions, *, quote_floor: float | None = None
    ) -> UploadSettings:
        """The upload's settings from the page's options; a quote pings and posts nothing."""
        ping = options.ping_policy()
        if quote_floor is not None:
            ping = PingPolicy(min_price=quote_floor, post=False)
        return UploadSettings(
            api=self.api,
            concurrency=options.concurrency,
            rate=RatePolicy(rate_per_s=options.rate_per_s),
            retry=self.config.retry,
            ping=ping,
            grace_s=self.config.grace_s,
        )

    def check_lock(self, upload: Upload) -> asyncio.Lock:
        """One check of an upload at a time: each writes its mapping and check files."""
        return self._check_locks.setdefault(upload.id, asyncio.Lock())

    def upload_of(self, request: web.Request) -> Upload:
        upload = self.workspace.get(request.match_info["upload"])
        if upload is None:
            raise web.HTTPNotFound(text="no such file in this workspace")
        return upload


STATE: web.AppKey[WebState] = web.AppKey("leadup_web_state", WebState)
