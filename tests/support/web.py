"""The web page and a sandbox on a thread of their own, for tests that drive a browser (or
plain HTTP) against them; and where those tests leave their screenshots."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from uploader.sandbox import Sandbox, SandboxConfig
from uploader.settings import ApiSettings, RetryPolicy
from uploader.web import WebConfig, WebServer
from uploader.web.workspace import Upload

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails) every test that would use it
    expect = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "screenshots"
QUICK_RETRY = RetryPolicy(max_attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)
T = TypeVar("T")


@dataclass
class RunningWeb:
    """`leadup web` pointed at a sandbox, both on one loop in a thread."""

    server: WebServer
    sandbox: Sandbox
    loop: asyncio.AbstractEventLoop

    @property
    def url(self) -> str:
        return self.server.url

    def login_url(self, path: str = "/") -> str:
        """A link that logs one browser (or one requests.Session) in."""
        return self.loop_call(_now(self.server.login_url(path)))

    def loop_call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def uploads(self) -> list[Upload]:
        return self.server.state.workspace.uploads()

    def only_upload(self) -> Upload:
        (upload,) = self.uploads()
        return upload


async def _now(value: T) -> T:
    return value


@contextmanager
def web_in_thread(
    workspace: Path, sandbox: SandboxConfig | None = None, **config: Any
) -> Iterator[RunningWeb]:
    """The page (WebConfig kwargs; quick retries unless given) over a sandbox (its config)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    found: list[Any] = []

    async def start() -> RunningWeb:
        fake = await Sandbox(sandbox or SandboxConfig()).start()
        api = ApiSettings(credentials=fake.credentials, base_url=fake.url, timeout_s=5.0)
        config.setdefault("retry", QUICK_RETRY)
        config.setdefault("grace_s", 0.5)
        config.setdefault("sandbox", True)  # the badge: leads go to a sandbox
        server = WebServer(WebConfig(api=api, port=0, workspace=workspace, **config))
        return RunningWeb(await server.start(), fake, loop)

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            found.append(loop.run_until_complete(start()))
        except BaseException as exc:
            found.append(exc)
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            web: RunningWeb = found[0]
            loop.run_until_complete(web.server.close())
            loop.run_until_complete(web.sandbox.close())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name="leadup-web", daemon=True)
    thread.start()
    started.wait()
    if isinstance(found[0], BaseException):
        thread.join()
        raise found[0]
    try:
        yield found[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)


def log_in(web: RunningWeb) -> Any:
    """A requests.Session logged in to `web` by a login link, sending the page's Origin."""
    import requests

    session = requests.Session()
    answer = session.get(web.login_url(), allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    session.headers["Origin"] = web.url
    return session


def screenshot(page: Any, name: str) -> Path:
    """Save the page as build/screenshots/<name>.png (the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
