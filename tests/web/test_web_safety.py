"""The page's safety over plain HTTP: the session (token once, cookie, 403 without), Host and
Origin checks, file names that try to leave the workspace, the size limit, and canary
credentials that must never reach a page, a response or an event."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import requests

from tests.support.web import REPO, RunningWeb, log_in, web_in_thread
from uploader.sandbox import SandboxConfig
from uploader.settings import Credentials

SAMPLE = REPO / "sample_data" / "leads.csv"
CANARY_KEY = "CANARY-key-7f3a9c"
CANARY_SECRET = "CANARY-secret-e81b44"


@pytest.fixture
def web(tmp_path: Path):
    sandbox = SandboxConfig(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    with web_in_thread(tmp_path / "workspace", sandbox, max_upload_bytes=60_000) as running:
        yield running


def send_file(session: requests.Session, web: RunningWeb, name: str, data: bytes):
    return session.post(
        f"{web.url}/files", files={"file": (name, data, "text/csv")}, allow_redirects=False
    )


def test_every_route_needs_the_session(web: RunningWeb) -> None:
    session = log_in(web)
    answer = send_file(session, web, "leads.csv", SAMPLE.read_bytes())
    assert answer.status_code == 303
    check = answer.headers["Location"]
    upload_id = check.split("/")[2]
    for path in [
        "/",
        "/static/app.css",
        check,
        f"/u/{upload_id}/run",
        f"/u/{upload_id}/run/events",
        f"/u/{upload_id}/files/results.csv",
        f"/u/{upload_id}/mapping.toml",
        "/jobs",
    ]:
        answer = requests.get(web.url + path, timeout=10, allow_redirects=False)
        assert answer.status_code == 403, path
        assert session.get(web.url + path, timeout=10).status_code != 403, path
    # Not even a wrong cookie gets in.
    forged = requests.get(web.url + "/", cookies={"leadup_session": "guess"}, timeout=10)
    assert forged.status_code == 403


def test_the_token_works_once_and_leaves_the_url(web: RunningWeb) -> None:
    link = web.login_url("/")
    first = requests.get(link, allow_redirects=False, timeout=10)
    assert first.status_code == 303
    assert first.headers["Location"] == "/"
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    again = requests.get(link, allow_redirects=False, timeout=10)
    assert again.status_code == 403
    assert "used already" in again.text


def test_changes_need_our_origin_and_every_request_our_host(web: RunningWeb) -> None:
    session = log_in(web)
    for origin in ("http://evil.example", "null", None):
        if origin is None:
            del session.headers["Origin"]
        else:
            session.headers["Origin"] = origin
        answer = send_file(session, web, "leads.csv", SAMPLE.read_bytes())
        assert answer.status_code == 403, origin
    assert web.uploads() == []
    session.headers["Origin"] = web.url
    port = web.url.rsplit(":", 1)[1]
    rebound = session.get(web.url + "/", headers={"Host": f"evil.example:{port}"}, timeout=10)
    assert rebound.status_code == 403


@pytest.mark.parametrize(
    "name", ["../../escape.csv", "..\\..\\escape.csv", "/tmp/escape.csv", ".hidden/../escape.csv"]
)
def test_a_file_name_cannot_leave_the_workspace(web: RunningWeb, tmp_path: Path, name: str) -> None:
    session = log_in(web)
    answer = send_file(session, web, name, SAMPLE.read_bytes()[:5000])
    assert answer.status_code == 303
    upload = web.only_upload()
    root = web.server.state.workspace.root
    assert upload.input_path.parent == root / upload.id
    assert upload.input_path.name == "escape.csv"
    assert not (tmp_path / "escape.csv").exists() and not Path("/tmp/escape.csv").exists()
    assert stat.S_IMODE(os.stat(upload.folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(upload.input_path).st_mode) == 0o600


def test_a_name_that_is_not_a_lead_file_is_refused(web: RunningWeb) -> None:
    answer = send_file(log_in(web), web, "../../.bashrc", b"echo hi\n")
    assert answer.status_code == 400
    assert "not a lead file" in answer.text
    assert web.uploads() == []


def test_a_file_over_the_limit_gets_a_clear_413(web: RunningWeb) -> None:
    answer = send_file(log_in(web), web, "big.csv", b"x" * 200_000)
    assert answer.status_code == 413
    assert "over the" in answer.text and "--max-upload-mb" in answer.text
    assert web.uploads() == []
    assert list(web.server.state.workspace.root.iterdir()) == []


def test_canary_credentials_never_reach_a_page_a_response_or_an_event(web: RunningWeb) -> None:
    web.sandbox.reconfigure(revoke_after=40)  # a 401 mid-run: the error path is shown too
    session = log_in(web)
    seen: list[str] = []
    answer = send_file(session, web, "leads.csv", SAMPLE.read_bytes())
    check = answer.headers["Location"]
    base = check.rsplit("/", 1)[0]
    seen.append(session.get(web.url + check, timeout=10).text)
    form = {"rate": "1000", "concurrency": "4"}
    seen.append(session.post(web.url + check, data=form, timeout=10).text)
    started = session.post(f"{web.url}{base}/start/upload", data=form, allow_redirects=False)
    assert started.status_code == 303
    with session.get(f"{web.url}{base}/run/events", stream=True, timeout=20) as events:
        for line in events.iter_lines(decode_unicode=True):
            seen.append(line)
            if line.startswith("data:") and json.loads(line[5:])["state"] != "running":
                break
    pages = {
        path: session.get(web.url + path, timeout=10).text
        for path in ["/", f"{base}/run", f"{base}/held", f"{base}/files/results.csv",
                     f"{base}/mapping.toml", f"{base}/quote"]
    }  # fmt: skip
    seen += pages.values()
    # The 401 stopped the run, and the page says why.
    assert 'data-testid="run-status" class="state state-stopped">stopped<' in pages[f"{base}/run"]
    assert "401" in pages[f"{base}/run"]
    secrets = Credentials(api_key=CANARY_KEY, api_secret=CANARY_SECRET).secrets()
    everything = "\n".join(seen)
    assert len(everything) > 10_000
    for secret in (CANARY_KEY, CANARY_SECRET, *secrets):
        assert secret not in everything
    assert "CANARY" not in everything


def test_the_same_file_dropped_twice_is_not_paid_for_twice(tmp_path: Path) -> None:
    with web_in_thread(tmp_path / "workspace") as web:
        session = log_in(web)
        form = {"rate": "1000"}
        for attempt in range(2):
            answer = send_file(session, web, "leads.csv", SAMPLE.read_bytes())
            base = answer.headers["Location"].rsplit("/", 1)[0]
            started = session.post(
                f"{web.url}{base}/start/upload", data=form, allow_redirects=False
            )
            assert started.status_code == 303
            with session.get(f"{web.url}{base}/run/events", stream=True, timeout=20) as events:
                for line in events.iter_lines(decode_unicode=True):
                    if line.startswith("data:") and json.loads(line[5:])["state"] != "running":
                        break
            if attempt == 0:
                created = web.sandbox.state.created_count
        page = session.get(f"{web.url}{base}/run", timeout=10).text
    assert web.sandbox.state.created_count == created == 285
    assert 'data-testid="run-error"' in page and "created" in page
