"""Running the sandbox: in the caller's event loop, or on a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Literal

from aiohttp import web

from uploader.sandbox.config import SandboxConfig, Scripted
from uploader.sandbox.server import SandboxApp
from uploader.sandbox.state import SandboxState
from uploader.settings import Credentials


class Sandbox:
    """The fake Juiced API on a loopback port, in the running event loop.

        async with Sandbox(SandboxConfig(rate_limit_per_s=44)) as sb:
            ...post to f"{sb.url}/leads" with sb.credentials...
            assert sb.state.keys_created_twice() == []

    Port 0 (the default) takes a free port; `url` is the API base (no trailing slash).
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout_s: float = 0.5,
    ) -> None:
        self.app = SandboxApp(config or SandboxConfig())
        self.host = host
        self._port = port
        # Short: a handler still sleeping out its latency must not hold up a test's teardown.
        self._shutdown_timeout_s = shutdown_timeout_s
        self._runner: web.AppRunner | None = None

    async def start(self) -> Sandbox:
        """Listen; returns self once the port is bound."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        # access_log=None: aiohttp's access log is off, so no header can ever reach a log.
        runner = web.AppRunner(
            self.app.build(), access_log=None, shutdown_timeout=self._shutdown_timeout_s
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Stop listening and close every connection; the state stays readable."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def port(self) -> int:
        """The bound port (the real one once started with port 0)."""
        return self._port

    @property
    def url(self) -> str:
        """The API base, e.g. `http://127.0.0.1:54321`; leads go to `{url}/leads`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def config(self) -> SandboxConfig:
        """The knobs now in force (see `reconfigure`)."""
        return self.app.config

    @property
    def state(self) -> SandboxState:
        """What the sandbox saw and created; readable after `close` too."""
        return self.app.state

    @property
    def credentials(self) -> Credentials:
        """Basic credentials (key and secret) the sandbox accepts."""
        return self.credentials_for("basic")

    def credentials_for(self, scheme: Literal["basic", "bearer"]) -> Credentials:
        """Credentials the sandbox accepts, for either scheme."""
        if scheme == "bearer":
            return Credentials(token=self.config.token)
        return Credentials(api_key=self.config.api_key, api_secret=self.config.api_secret)

    def env(self) -> dict[str, str]:
        """Environment variables that point leadup at this sandbox (Basic credentials)."""
        return {
            "JUICED_API_URL": self.url,
            "JUICED_API_KEY": self.config.api_key,
            "JUICED_API_SECRET": self.config.api_secret,
        }

    def reconfigure(self, **changes: Any) -> SandboxConfig:
        """Change SandboxConfig fields while running, e.g. `reconfigure(error_500_ratio=0)`."""
        return self.app.reconfigure(**changes)

    def push_script(self, *answers: Scripted) -> None:
        """Queue scripted answers, in order; each waits for a request to its `path`."""
        self.state.script.extend(answers)

    def revoke(self) -> None:
        """From now on every API request gets 401, as after a token rotation."""
        self.state.revoke()

    def restore(self) -> None:
        """Accept the credentials again (and disarm `revoke_after`)."""
        self.state.restore()

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        return (
            f"<Sandbox {self.url} {state} requests={self.state.request_count} "
            f"leads={self.state.created_count}>"
        )


@contextmanager
def sandbox_in_thread(
    config: SandboxConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[Sandbox]:
    """A sandbox on its own thread and loop, for synchronous callers.

    For tests that drive the CLI in-process (click's CliRunner runs `asyncio.run` itself,
    which cannot nest in a running loop). Read `state` freely; change knobs only between
    requests.
    """
    sandbox = Sandbox(config, host=host, port=port)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(sandbox.start())
        except BaseException as exc:
            failure.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(sandbox.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="leadup-sandbox", daemon=True)
    thread.start()
    started.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield sandbox
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
