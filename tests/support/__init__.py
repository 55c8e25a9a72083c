"""What tests share: import helpers from here, never from conftest.py or another test module.

tests/conftest.py holds fixtures only (and loads the virtual-time plugin below).

Modules
-------
leads        HEADER, lead_rows(count, start=, zip_code=), write_csv(path, rows, header=),
             results_of(results_path): a results file as one dict per line
sandbox      running_sandbox(**SandboxConfig) (async with), fast_settings(sandbox, **overrides),
             upload(path, sandbox, **request_or_settings): run.upload with quick retries
cli          leadup(*args, env=, cwd=): the command as a subprocess; env_for(sandbox), KEY,
             SECRET, assert_no_secret(*texts)
jobs         for the jobs tests: write_job_file, load_job, write_leads, emails, age,
             subprocess_env, JOBS_CLI, REPO, webhook_receiver
transport    MemoryTransport(handler): a LeadTransport without sockets (httpx's MockTransport
             for leadup) and handlers to script it: FakeApi, always, script, flaky,
             created_then_lost, delayed (see that module's docstring)
virtual_time VirtualTimeLoop, run_virtual(main), and the `virtual_time` marker
web          web_in_thread(workspace, SandboxConfig, **WebConfig): `leadup web` over a sandbox on
             a thread (RunningWeb: login_url(), only_upload()); log_in(web) as a requests
             session; screenshot(page, name) into build/screenshots; expect (playwright's)
browser      a pytest plugin: the browser tests (tests/web) left out with one line when
             Chromium or playwright is missing, unless LEADUP_REQUIRE_BROWSER=1

Virtual time
------------
Mark an async test `@pytest.mark.virtual_time` (or a module: `pytestmark =
pytest.mark.virtual_time`) and it runs, with its async fixtures, on a VirtualTimeLoop: the
loop's clock starts at 0.0 and, whenever every task waits, jumps straight to the next timer.
Sleeps, timeouts, backoffs, Retry-After pauses and pacing then take no real time and happen
at exact times, so assert them with `==`:

    @pytest.mark.virtual_time
    async def test_a_503_then_created():
        transport = MemoryTransport(delayed(0.5, script(503, then=FakeApi())))
        ...  # a RowSender / LeadPool over `transport`; the engine reads the loop's clock
        assert [r.at for r in transport.requests] == [0.0, 2.0]

Executor jobs (`asyncio.to_thread`) take no virtual time. Sockets to another thread or
process do not mix with virtual time (their answers would come "late"): use MemoryTransport.
Sync code can use `run_virtual(main)`. Why not the `looptime` plugin: see virtual_time.py.
"""
