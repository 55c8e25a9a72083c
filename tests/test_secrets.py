"""Credentials never stored or echoed (issue 16, item 8): answers that echo them, URLs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import leadup
from tests.support.leads import lead_rows, results_of, write_csv
from tests.support.sandbox import running_sandbox, upload
from uploader import run
from uploader.errors import ConfigError
from uploader.sandbox import Scripted
from uploader.settings import Credentials, check_url

KEY = "k3y-Echoed-By-A-Careless-API"
SECRET = "s3cr3t-Echoed/By+The=API"
TOKEN = "t0ken-Echoed-By-A-Careless-API"


def forms(credentials: Credentials) -> list[str]:
    """Every way the credential can be spelled in an echo of the request."""
    header = credentials.authorization()
    found = [header, header.split(" ", 1)[1]]
    if credentials.api_key:
        pair = f"{credentials.api_key}:{credentials.api_secret}".encode()
        found += [KEY, SECRET, pair.decode(), base64.urlsafe_b64encode(pair).decode()]
        found.append(json.dumps(SECRET)[1:-1])
    else:
        found.append(TOKEN)
    return found


def echo_body(credentials: Credentials) -> dict[str, Any]:
    header = credentials.authorization()
    return {
        "message": f"Invalid request, you sent Authorization: {header}",
        "errors": {"zip": [f"not for {value}" for value in forms(credentials)]},
        "headers": {"Authorization": header},
    }


def every_text(folder: Path) -> str:
    """All bytes of every file in `folder` (results, journal and its WAL), as text."""
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file()
    )


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
async def test_an_answer_that_echoes_the_credentials_is_stored_redacted(
    tmp_path: Path, scheme: str
) -> None:
    config = {"api_key": KEY, "api_secret": SECRET, "token": TOKEN}
    async with running_sandbox(**config) as sandbox:
        credentials = sandbox.credentials_for("basic" if scheme == "basic" else "bearer")
        (tmp_path / "in").mkdir()
        path = write_csv(tmp_path / "in" / "leads.csv", lead_rows(2))
        sandbox.push_script(Scripted(status=422, body=echo_body(credentials)))
        events: list[object] = []
        control = run.RunControl([events.append])
        report = await upload(
            path,
            sandbox,
            credentials=credentials,
            concurrency=1,
            control=control,
            output_path=tmp_path / "out" / "leads.results.csv",
        )
    rejected = [line for line in results_of(report.results_path) if line["outcome"] == "rejected"]
    assert len(rejected) == 1
    assert "[redacted]" in rejected[0]["error"]
    stored = every_text(tmp_path / "out") + repr(events) + repr(report)
    for secret in forms(credentials):
        assert secret not in stored, secret


def test_redact_replaces_the_longest_form_first() -> None:
    credentials = Credentials(api_key=KEY, api_secret=SECRET)
    text = credentials.redact(f"pair {KEY}:{SECRET} header {credentials.authorization()}")
    assert text == "pair [redacted] header Basic [redacted]"


@pytest.mark.parametrize(
    "url",
    [
        "user:pa55word@api.example.com/api",
        "//user:pa55word@api.example.com/api",
        "https://user:pa55word@api.example.com/api",
        "ftp://user:pa55word@api.example.com/api",
        "user:pa55word@[::1/api",
    ],
)
def test_a_url_is_never_echoed_with_its_user_or_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_url(url)
    assert "pa55word" not in str(caught.value)
    assert "user" not in str(caught.value).replace("a user", "")


def test_a_url_without_scheme_is_refused_without_its_password_on_the_command_line(
    tmp_path: Path,
) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(1))
    env = {
        "JUICED_API_URL": "user:pa55word@api.example.com/api",
        "JUICED_API_KEY": KEY,
        "JUICED_API_SECRET": SECRET,
    }
    done = leadup("upload", str(path), env=env)
    assert done.returncode == 2, done.stderr
    assert "pa55word" not in done.stdout + done.stderr
    assert "API URL" in done.stderr
