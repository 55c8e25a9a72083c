"""Settings and credentials: read from the environment only, never shown, never sent in clear."""

from __future__ import annotations

import pytest

from uploader.errors import ConfigError, NotSent
from uploader.send.transport import HttpTransport
from uploader.settings import (
    CONCURRENCY_LIMIT,
    DEFAULT_API_URL,
    RATE_LIMIT,
    SECONDS_LIMIT,
    TIMEOUT_LIMIT,
    ApiSettings,
    Credentials,
    Limit,
    UploadSettings,
    api_settings_from_env,
    check_url,
)

SECRET = "very-secret-value-123"


@pytest.mark.parametrize(
    ("env", "scheme"),
    [
        ({"JUICED_API_TOKEN": SECRET}, "Bearer"),
        ({"JUICED_API_KEY": "k", "JUICED_API_SECRET": SECRET}, "Basic"),
        ({"JUICED_API_TOKEN": SECRET, "JUICED_API_KEY": "k", "JUICED_API_SECRET": "s"}, "Bearer"),
    ],
)
def test_credentials_from_env(env: dict[str, str], scheme: str) -> None:
    assert Credentials.from_env(env).scheme == scheme


def test_custom_env_names_for_a_second_source() -> None:
    env = {"B_KEY": "k2", "B_SECRET": SECRET}
    creds = Credentials.from_env(env, key_env="B_KEY", secret_env="B_SECRET", token_env="B_TOK")
    assert creds.api_key == "k2"


@pytest.mark.parametrize("env", [{}, {"JUICED_API_KEY": "k"}, {"JUICED_API_SECRET": "s"}])
def test_missing_credentials_are_a_config_error(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Credentials.from_env(env)


def test_no_repr_shows_a_secret() -> None:
    creds = Credentials(api_key="key-abc", api_secret=SECRET)
    settings = UploadSettings(api=ApiSettings(credentials=creds, base_url="https://x.test/api"))
    for text in (repr(creds), str(creds), repr(settings), str(settings)):
        assert SECRET not in text and "key-abc" not in text
        assert creds.authorization().split()[1] not in text


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://usejuiced.com/api", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:9/api", True),
        ("http://[::1]:9/api", True),
        ("http://usejuiced.com/api", False),
        ("http://10.0.0.5/api", False),
        ("ftp://usejuiced.com", False),
        ("usejuiced.com/api", False),
    ],
)
def test_plain_http_only_to_loopback(url: str, ok: bool) -> None:
    if ok:
        check_url(url)
    else:
        with pytest.raises(ConfigError):
            check_url(url)


async def test_transport_errors_carry_no_secret() -> None:
    creds = Credentials(token=SECRET)
    api = ApiSettings(credentials=creds, base_url="http://127.0.0.1:9", connect_timeout_s=1)
    async with HttpTransport(api, pool_size=1) as transport:
        with pytest.raises(NotSent) as caught:
            await transport.post_lead({"zip": "02139"}, "key")
    assert SECRET not in repr(caught.value) and SECRET not in str(caught.value)
    assert caught.value.__context__ is None  # no aiohttp exception (and its headers) attached


def test_api_settings_from_env_strips_every_value() -> None:
    env = {
        "JUICED_API_URL": " http://127.0.0.1:9/api\n",
        "JUICED_PARTNER_ID": " p-42\n",
        "JUICED_API_TOKEN": f"{SECRET}\n",
    }
    api = api_settings_from_env(env)
    assert (api.base_url, api.partner_id, api.credentials.token) == (
        "http://127.0.0.1:9/api",
        "p-42",
        SECRET,
    )
    assert api.timeout_s == ApiSettings(credentials=api.credentials).timeout_s


def test_api_settings_arguments_win_and_blank_means_not_given() -> None:
    env = {"JUICED_API_URL": "http://127.0.0.1:1", "JUICED_PARTNER_ID": "env-p"}
    creds = Credentials(token=SECRET)
    given = api_settings_from_env(
        env, base_url=" https://x.test/api ", partner_id="p", credentials=creds, timeout_s=3.0
    )
    assert (given.base_url, given.partner_id, given.timeout_s) == ("https://x.test/api", "p", 3.0)
    assert given.credentials is creds
    blank = api_settings_from_env(env, base_url="  ", partner_id="", credentials=creds)
    assert (blank.base_url, blank.partner_id) == ("http://127.0.0.1:1", "env-p")
    default = api_settings_from_env({}, credentials=creds)
    assert (default.base_url, default.partner_id) == (DEFAULT_API_URL, "")


def test_api_settings_from_custom_variable_names() -> None:
    env = {"B_TOK": SECRET, "B_URL": "http://localhost:9", "B_PARTNER": "b"}
    api = api_settings_from_env(
        env, token_env="B_TOK", url_env="B_URL", partner_env="B_PARTNER", key_env="B_KEY"
    )
    assert (api.credentials.token, api.base_url, api.partner_id) == (
        SECRET,
        "http://localhost:9",
        "b",
    )


@pytest.mark.parametrize(
    ("env", "kwargs", "message"),
    [
        ({}, {}, "no credentials"),
        ({"JUICED_API_TOKEN": "t", "JUICED_API_URL": "http://x.test"}, {}, "plain http"),
        ({"JUICED_API_TOKEN": "t", "JUICED_PARTNER_ID": "p\x1b"}, {}, "control character"),
        ({"JUICED_API_TOKEN": "t"}, {"timeout_s": 0.0}, "timeout must be a number greater"),
        ({"JUICED_API_TOKEN": "t"}, {"timeout_s": float("inf")}, "timeout must be a finite"),
    ],
)
def test_api_settings_from_env_refuses(
    env: dict[str, str], kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        api_settings_from_env(env, **kwargs)


@pytest.mark.parametrize(
    ("limit", "value", "ok"),
    [
        (CONCURRENCY_LIMIT, 1, True),
        (CONCURRENCY_LIMIT, 256, True),
        (CONCURRENCY_LIMIT, 0, False),
        (CONCURRENCY_LIMIT, 257, False),
        (CONCURRENCY_LIMIT, 8.0, False),  # a whole number, as the command line reads it
        (CONCURRENCY_LIMIT, True, False),
        (RATE_LIMIT, 0.01, True),
        (RATE_LIMIT, 0, False),
        (RATE_LIMIT, float("inf"), False),
        (RATE_LIMIT, float("nan"), False),
        (RATE_LIMIT, 10**400, True),  # huge but finite: no OverflowError
        (SECONDS_LIMIT, 0, True),
        (SECONDS_LIMIT, -0.5, False),
        (TIMEOUT_LIMIT, 0.0, False),
    ],
)
def test_limits_shared_by_the_command_line_and_job_files(
    limit: Limit, value: float, ok: bool
) -> None:
    assert limit.allows(value) is ok
    assert (limit.problem(value) == "") is ok
