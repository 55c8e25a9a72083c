"""Settings and credentials: read from the environment only, never shown, never sent in clear."""

from __future__ import annotations

import pytest

from uploader.errors import ConfigError, NotSent
from uploader.send.transport import HttpTransport
from uploader.settings import ApiSettings, Credentials, UploadSettings, check_url

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
