"""`leadup check`: the API to check (the real one, or an embedded sandbox), and its result drawn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console
from rich.text import Text

from uploader.run.check import CheckOutcome, CheckReport, check_credentials
from uploader.settings import ApiSettings, api_settings_from_env
from uploader.text import inert

SANDBOX_CREDENTIALS = "the embedded sandbox (throwaway)"
_STYLE = {
    CheckOutcome.ACCEPTED: "green",
    CheckOutcome.ANSWERED: "yellow",
    CheckOutcome.REFUSED: "red",
    CheckOutcome.WRONG_URL: "red",
    CheckOutcome.UNREACHABLE: "red",
}


@contextlib.asynccontextmanager
async def _api(opts: dict[str, Any]) -> AsyncIterator[tuple[ApiSettings, str | None]]:
    """The API's settings (from the options and the environment, as upload takes them), and
    where its credentials come from when that is not the usual variables."""
    if opts["sandbox"]:
        from uploader.sandbox import Sandbox, SandboxConfig

        async with Sandbox(SandboxConfig()) as sandbox:
            api = api_settings_from_env(
                base_url=sandbox.url,
                partner_id=opts["partner_id"],
                credentials=sandbox.credentials,
                timeout_s=opts["timeout_s"],
            )
            yield api, SANDBOX_CREDENTIALS
        return
    api = api_settings_from_env(
        base_url=opts["api_url"], partner_id=opts["partner_id"], timeout_s=opts["timeout_s"]
    )
    yield api, None


def run_check(opts: dict[str, Any]) -> CheckReport:
    """One test ping with the command's options; ConfigError when no credentials are set."""

    async def main() -> CheckReport:
        async with _api(opts) as (api, credentials_from):
            return await check_credentials(api, credentials_from=credentials_from)

    return asyncio.run(main())


def render_check(report: CheckReport, out: Console, err: Console) -> None:
    """The verdict line, then where the credentials came from and what to do; on stdout when
    the credentials were not refused, else on stderr."""
    console = out if report.exit_code == 0 else err
    first, *rest = report.describe()
    console.print(Text(inert(first), style=_STYLE[report.outcome]))
    for line in rest:  # the API's own words among them
        console.print(Text(f"  {inert(line)}"))
