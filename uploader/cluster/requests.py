"""An upload request as the database keeps it: everything but the credentials.

Workers run uploads that another process asked for. The request travels as JSON: the read,
prepare, pace, retry and ping settings, the API's URL and the NAMES of the environment
variables that hold the credentials. Each worker reads the secrets from its own environment,
so no secret is ever written to the database.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uploader.run import UploadRequest
from uploader.settings import (
    CircuitPolicy,
    PingPolicy,
    PrepareOptions,
    RatePolicy,
    ReadOptions,
    RetryPolicy,
    UploadSettings,
    api_settings_from_env,
)

DEFAULT_ENV_NAMES = {
    "key_env": "JUICED_API_KEY",
    "secret_env": "JUICED_API_SECRET",
    "token_env": "JUICED_API_TOKEN",
}


def request_document(
    request: UploadRequest, env_names: Mapping[str, str] = DEFAULT_ENV_NAMES
) -> dict[str, Any]:
    """The request as JSON-ready data, without credentials (see the module docstring)."""
    settings = request.settings
    return {
        "input_path": str(request.input_path),
        "results_path": str(request.results_path),
        "mapping_path": str(request.mapping_path) if request.mapping_path else None,
        "read": dataclasses.asdict(request.read),
        "prepare": dataclasses.asdict(request.prepare),
        "api": {
            "base_url": settings.api.base_url,
            "partner_id": settings.api.partner_id,
            "timeout_s": settings.api.timeout_s,
            "connect_timeout_s": settings.api.connect_timeout_s,
            **env_names,
        },
        "concurrency": settings.concurrency,
        "rate": dataclasses.asdict(settings.rate),
        "retry": dataclasses.asdict(settings.retry),
        "circuit": dataclasses.asdict(settings.circuit),
        "ping": None if settings.ping is None else dataclasses.asdict(settings.ping),
        "grace_s": settings.grace_s,
    }


def rebuild_request(document: Mapping[str, Any], env: Mapping[str, str]) -> UploadRequest:
    """The request again, with the credentials this worker's environment gives those names."""
    api = document["api"]
    api_settings = api_settings_from_env(
        env,
        base_url=api["base_url"],
        partner_id=api["partner_id"],
        key_env=api["key_env"],
        secret_env=api["secret_env"],
        token_env=api["token_env"],
        timeout_s=api["timeout_s"],
    )
    api_settings = dataclasses.replace(api_settings, connect_timeout_s=api["connect_timeout_s"])
    ping = document["ping"]
    settings = UploadSettings(
        api=api_settings,
        concurrency=int(document["concurrency"]),
        rate=_build(RatePolicy, document["rate"]),
        retry=_build(RetryPolicy, document["retry"]),
        circuit=_build(CircuitPolicy, document["circuit"]),
        ping=None if ping is None else _build(PingPolicy, ping),
        grace_s=float(document["grace_s"]),
    )
    mapping = document["mapping_path"]
    return UploadRequest(
        input_path=Path(document["input_path"]),
        settings=settings,
        output_path=Path(document["results_path"]),
        read=_build(ReadOptions, document["read"]),
        prepare=_build(PrepareOptions, document["prepare"]),
        mapping_path=Path(mapping) if mapping else None,
    )


def credential_lock(document: Mapping[str, Any], salt: str) -> str:
    """The lock all uploads with one credential share, so that one of them sends at a time
    and the credential's rate holds across hosts: a keyed hash of the API and the NAMES of
    its credential variables (never a secret), salted per cluster."""
    api = document["api"]
    name = "\n".join(
        (api["base_url"], api["key_env"], api["secret_env"], api["token_env"], api["partner_id"])
    )
    digest = hmac.new(salt.encode(), name.encode(), hashlib.sha256).hexdigest()
    return f"leadup-credential-{digest[:32]}"


def _build(cls: Any, values: Mapping[str, Any]) -> Any:
    """A frozen settings dataclass from its asdict(); JSON lists back to tuples."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
    )
