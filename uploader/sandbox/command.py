"""`leadup sandbox`: serve the fake Juiced API until SIGINT or SIGTERM.

Signals mean what they mean everywhere (`uploader.run.signals`): the first closes gracefully
(stop listening, answer the requests being handled, for up to GRACE_S), the second closes now
(requests being handled are dropped), the third leaves at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from typing import TYPE_CHECKING, Any

import click

from uploader.run.signals import Notices, stop_on_signals
from uploader.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from uploader.sandbox.runner import Sandbox

RATIO = click.FloatRange(0.0, 1.0)
GRACE_S = 10.0  # a graceful close waits this long for requests being answered (--latency-ms)
NOTICES = Notices(
    stopping="stopping: answering the requests being handled (Ctrl-C again to stop now)",
    aborting="stopping now: requests being handled are dropped",
    leaving="leaving at once",
)


@click.command("sandbox")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--latency-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Delay added to every admitted request.",
)
@click.option(
    "--jitter-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Plus a random delay of up to this much.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests per second (sliding 1 s window); over it: 429 + Retry-After.",
)
@click.option(
    "--retry-after-format",
    type=click.Choice(["seconds", "date"]),
    default="seconds",
    show_default=True,
    help="How a 429 states Retry-After.",
)
@click.option("--error-500", type=RATIO, default=0.0, help="Share of requests answered 500.")
@click.option("--error-503", type=RATIO, default=0.0, help="Share answered 503 (Retry-After: 1).")
@click.option(
    "--drop",
    type=RATIO,
    default=0.0,
    help="Share whose connection is closed before anything is applied.",
)
@click.option(
    "--lost-response",
    type=RATIO,
    default=0.0,
    help="Share applied (lead created) whose response is then lost.",
)
@click.option(
    "--revoke-after",
    type=click.IntRange(min=0),
    default=None,
    help="Answer 401 once this many leads exist (a rotated token).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of every random knob, for repeatable runs.",
)
@click.option(
    "--require",
    "required_fields",
    multiple=True,
    help="A field the source marks required (repeatable); zip always is.",
)
@click.option("--no-test-mode", is_flag=True, help="Ignore is_test (fixed outcomes by zip).")
@click.option("--no-duplicate-check", is_flag=True, help="Never answer status 'duplicate'.")
@click.option(
    "--source-type",
    type=click.Choice(["internal", "vendor"]),
    default="internal",
    show_default=True,
    help="Ping answers: every bid (internal) or one aggregated price (vendor).",
)
@click.option(
    "--ping-ttl",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds a ping stays usable by a lead.",
)
@click.option(
    "--monthly-limit",
    type=click.IntRange(min=0),
    default=None,
    help="Non-test leads before pings are Rejected and leads withheld.",
)
@click.option(
    "--no-records",
    is_flag=True,
    help="Keep counters only, no lead/request records (long benchmarks); no duplicate checks.",
)
@click.option("--api-key", default=None, help="Fixed API key (default: a throwaway one).")
@click.option("--api-secret", default=None, help="Fixed API secret (default: throwaway).")
@click.option("--token", default=None, help="Fixed Bearer token (default: throwaway).")
def sandbox_command(
    port: int,
    host: str,
    latency_ms: float,
    jitter_ms: float,
    rate_limit: float | None,
    retry_after_format: str,
    error_500: float,
    error_503: float,
    drop: float,
    lost_response: float,
    revoke_after: int | None,
    seed: int,
    required_fields: tuple[str, ...],
    no_test_mode: bool,
    no_duplicate_check: bool,
    source_type: str,
    ping_ttl: float,
    monthly_limit: int | None,
    no_records: bool,
    api_key: str | None,
    api_secret: str | None,
    token: str | None,
) -> None:
    """Serve a fake Juiced API on loopback, for demos and tests.

    Prints its URL and throwaway credentials as shell `export` lines, then serves until
    Ctrl-C or SIGTERM. Admin routes (no auth, loopback only): GET /_sandbox/stats,
    GET /_sandbox/leads, GET /_sandbox/requests, GET /_sandbox/pings, POST /_sandbox/revoke,
    POST /_sandbox/restore, POST /_sandbox/script, POST /_sandbox/expire-pings.
    """
    fixed = {"api_key": api_key, "api_secret": api_secret, "token": token}
    knobs: dict[str, Any] = {k: v for k, v in fixed.items() if v}
    try:
        config = SandboxConfig(
            latency_s=latency_ms / 1000,
            latency_jitter_s=jitter_ms / 1000,
            rate_limit_per_s=rate_limit,
            retry_after_format="date" if retry_after_format == "date" else "seconds",
            error_500_ratio=error_500,
            error_503_ratio=error_503,
            drop_ratio=drop,
            lost_response_ratio=lost_response,
            revoke_after=revoke_after,
            seed=seed,
            required_fields=required_fields,
            test_mode=not no_test_mode,
            duplicate_check=not no_duplicate_check,
            source_type="vendor" if source_type == "vendor" else "internal",
            ping_ttl_s=ping_ttl,
            monthly_limit=monthly_limit,
            keep_records=not no_records,
            **knobs,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    # KeyboardInterrupt only where signal handlers cannot be installed (Windows); a third
    # signal cancels the serving task.
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(_serve(config, host, port))


class _Shutdown:
    """What the signals ask of the sandbox: `stop()` closes gracefully, `abort()` at once."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.aborting = asyncio.Event()

    def stop(self) -> None:
        self.stopping.set()

    def abort(self) -> None:
        self.stopping.set()
        self.aborting.set()


def _say(message: str) -> None:
    click.echo(f"leadup sandbox: {message}", err=True)


async def _serve(config: SandboxConfig, host: str, port: int) -> None:
    from uploader.sandbox.runner import Sandbox  # aiohttp only when the command runs

    shutdown = _Shutdown()
    with stop_on_signals(shutdown, tell=_say, notices=NOTICES):
        sandbox = Sandbox(config, host=host, port=port, shutdown_timeout_s=GRACE_S)
        try:
            await sandbox.start()
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        try:
            _announce(sandbox.url, config)
            await shutdown.stopping.wait()
        finally:
            await _close(sandbox, shutdown)
    state = sandbox.state
    click.echo(
        f"leadup sandbox stopped: {state.request_count} requests, "
        f"{state.created_count} leads created",
        err=True,
    )


async def _close(sandbox: Sandbox, shutdown: _Shutdown) -> None:
    """Close gracefully, unless an abort comes first (or already came): then stop waiting;
    the requests still being handled are cancelled as the event loop ends."""
    closing = asyncio.ensure_future(sandbox.close())
    aborted = asyncio.ensure_future(shutdown.aborting.wait())
    try:
        await asyncio.wait({closing, aborted}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        aborted.cancel()
        closing.cancel()
        await asyncio.wait({closing})  # its end, without its CancelledError


def _announce(url: str, config: SandboxConfig) -> None:
    """The first line is parsed by tests and scripts; keep its wording."""
    lines = [
        f"leadup sandbox listening on {url}",
        f"export JUICED_API_URL={shlex.quote(url)}",
        f"export JUICED_API_KEY={shlex.quote(config.api_key)}",
        f"export JUICED_API_SECRET={shlex.quote(config.api_secret)}",
        f"# or Bearer instead: export JUICED_API_TOKEN={shlex.quote(config.token)}",
        f"# stats: curl {url}/_sandbox/stats    stop: Ctrl-C",
    ]
    click.echo("\n".join(lines))
    sys.stdout.flush()  # a parent process waits for these lines through a pipe
