"""`leadup web` as a command, and the server's own life: stopping it stops its runs
gracefully, and a new server resumes them from the page."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.leads import lead_rows, write_csv
from tests.support.web import RunningWeb, log_in, web_in_thread
from uploader.sandbox import SandboxConfig


@pytest.mark.slow
def test_leadup_web_prints_a_login_link_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uploader",
            "web",
            "--sandbox",
            "--no-browser",
            "--port",
            "0",
            "--workspace",
            str(tmp_path / "ws"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert "the embedded sandbox" in lines[0]
        link = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", lines[1])
        assert link, lines
        import requests

        answer = requests.get(link.group(0), allow_redirects=False, timeout=10)
        assert answer.status_code == 303 and "leadup_session" in answer.headers["Set-Cookie"]
        home = requests.get(link.group(0).split("?")[0], cookies=answer.cookies, timeout=10)
        assert "sandbox" in home.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert stat_mode(tmp_path / "ws") == 0o700


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_leadup_web_without_credentials_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    done = subprocess.run(
        [sys.executable, "-m", "uploader", "web", "--no-browser", "--workspace", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert done.returncode == 2
    assert "no credentials" in done.stderr


def wait_state(session, web: RunningWeb, base: str, wanted: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with session.get(f"{web.url}{base}/run/events", stream=True, timeout=20) as events:
            for line in events.iter_lines(decode_unicode=True):
                if line.startswith("data:") and json.loads(line[5:])["state"] == wanted:
                    return
                if line.startswith("data:") and json.loads(line[5:])["state"] != "running":
                    break
        time.sleep(0.1)
    pytest.fail(f"the run never reached {wanted}")


@pytest.mark.slow
def test_stopping_the_server_stops_its_runs_and_a_new_one_resumes_them(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    path = write_csv(tmp_path / "leads.csv", lead_rows(100))
    form = {"rate": "25", "concurrency": "2"}
    with web_in_thread(workspace, SandboxConfig(latency_s=0.02)) as web:
        session = log_in(web)
        answer = session.post(
            f"{web.url}/files", files={"file": ("leads.csv", path.read_bytes())},
            allow_redirects=False,
        )  # fmt: skip
        base = answer.headers["Location"].rsplit("/", 1)[0]
        session.post(f"{web.url}{base}/start/upload", data=form, allow_redirects=False)
        while web.sandbox.state.created_count < 10:
            time.sleep(0.05)
    # The server is gone: its run stopped gracefully and said so in the workspace.
    upload = web.only_upload()
    assert upload.meta["run"]["state"] == "stopped"
    first_created = web.sandbox.state.created_count
    assert 10 <= first_created < 100
    with web_in_thread(workspace) as again:
        session = log_in(again)
        page = session.get(f"{again.url}{base}/run", timeout=10).text
        assert 'data-testid="resume-run"' in page
        session.post(f"{again.url}{base}/resume", allow_redirects=False)
        wait_state(session, again, base, "finished")
        assert again.sandbox.state.created_count == 100 - first_created
        assert upload.meta["run"]["summary"]["counts"] == {"created": 100}


def test_leadup_web_warns_when_it_listens_beyond_this_machine(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uploader",
            "web",
            "--sandbox",
            "--no-browser",
            "--port",
            "0",
            "--host",
            "0.0.0.0",
            "--workspace",
            str(tmp_path / "ws"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None and process.stdout is not None
        warning = process.stderr.readline()
        assert "warning: listening on 0.0.0.0" in warning
        assert "token=" in process.stdout.readline() + process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert process.returncode == 0
