"""The web face's aiohttp application: its routes, templates and middlewares, and the server
that runs it (with the embedded sandbox when asked) until it is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import aiohttp_jinja2
import jinja2
from aiohttp import web

from uploader.settings import ApiSettings
from uploader.text import plural
from uploader.web import jobs_page, pages, runpages
from uploader.web.config import WebConfig
from uploader.web.session import TOKEN_PARAM, guard, protect
from uploader.web.state import STATE, WebState

HERE = Path(__file__).parent
STOP_WAIT_S = 10.0  # beyond the grace period, for runs to write their results on shutdown


def build_app(state: WebState) -> web.Application:
    """The application over `state` (its routes all behind the session guard)."""
    app = web.Application(
        middlewares=[protect(state.api.credentials.secrets), guard(state.sessions, state.hosts)],
        client_max_size=1024 * 1024,  # forms; files stream past this (pages.receive_file)
    )
    app[STATE] = state
    app[aiohttp_jinja2.static_root_key] = "/static"
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    env.filters["plural"] = lambda n, word: plural(int(n), word)
    upload = "/u/{upload:[0-9a-f]{16}}"
    app.add_routes(
        [
            web.get("/", pages.home),
            web.post("/files", pages.receive_file),
            web.get(f"{upload}/check", pages.check_page),
            web.post(f"{upload}/check", pages.recheck),
            web.get(f"{upload}/held", pages.held_rows),
            web.get(f"{upload}/mapping.toml", pages.mapping_file),
            web.post(f"{upload}/start/{{what:upload|quote}}", runpages.start),
            web.get(f"{upload}/run", runpages.run_page),
            web.get(f"{upload}/quote", runpages.quote_page),
            web.get(f"{upload}/{{slot:run|quote}}/events", runpages.events),
            web.post(f"{upload}/{{slot:run|quote}}/stop", runpages.stop),
            web.post(f"{upload}/resume", runpages.resume),
            web.post(f"{upload}/retry", runpages.retry),
            web.post(f"{upload}/sell", runpages.sell),
            web.get(
                f"{upload}/files/{{file:results.csv|quote.csv|quote.png|quote.states.csv}}",
                runpages.download,
            ),
            web.get("/jobs", jobs_page.jobs),
            web.post("/jobs/{name}/{action:run|reprocess}", jobs_page.act),
            web.static("/static", HERE / "static"),
        ]
    )

    async def stop_runs(app: web.Application) -> None:
        await state.runs.stop_all(state.config.grace_s + STOP_WAIT_S)
        await jobs_page.stop_jobs(state)

    app.on_shutdown.append(stop_runs)
    return app


class WebServer:
    """The page on its port, in the running loop: `login_url()` is a link that logs a
    browser in once."""

    def __init__(self, config: WebConfig) -> None:
        self.state = WebState.of(config)
        self._runner: web.AppRunner | None = None

    async def start(self) -> WebServer:
        app = build_app(self.state)
        # access_log=None: the token in a login URL never reaches a log.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.state.config.host, self.state.config.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.state.port = runner.addresses[0][1]
        return self

    @property
    def url(self) -> str:
        host = self.state.config.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.state.port}"

    def login_url(self, path: str = "/") -> str:
        return f"{self.url}{path}?{TOKEN_PARAM}={self.state.sessions.new_token()}"

    async def close(self) -> None:
        """Stop every run gracefully (their rows left are pending), then stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> WebServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


@contextlib.asynccontextmanager
async def web_target(config: WebConfig) -> AsyncIterator[WebConfig]:
    """The config as given, or pointed at an embedded sandbox for as long as it runs."""
    if not config.sandbox:
        yield config
        return
    from uploader.sandbox import Sandbox, SandboxConfig

    async with Sandbox(SandboxConfig(latency_s=0.02)) as sandbox:
        timeout_s = config.api.timeout_s if config.api else 30.0
        api = ApiSettings(sandbox.credentials, base_url=sandbox.url, timeout_s=timeout_s)
        yield replace(config, api=api)


async def serve(config: WebConfig, ready: Callable[[WebServer], None]) -> None:
    """Run the page until SIGINT or SIGTERM; then stop its runs gracefully (a second signal
    stops them now, as a second Ctrl-C does for `leadup upload`)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    async with web_target(config) as target, WebServer(target) as server:

        def on_signal() -> None:
            if stopping.is_set():
                server.state.runs.abort_all()
            stopping.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, on_signal)
        ready(server)
        await stopping.wait()
