"""What the API needs from the deployment, as one frozen value built by the entry point.

`dayuan api` (api/cli.py) turns the process's `Settings` into an `ApiConfig`; tests build
one directly. Nothing in the API reads the environment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from broker import MqttEndpoint


@dataclass(frozen=True, slots=True)
class ApiConfig:
    database_url: str
    mqtt: MqttEndpoint | None  # None: device commands are refused with 503
    env: Literal["development", "production"] = "development"
    # Signs tokens. None in development: a random key per start (tokens die with it).
    token_secret: str | None = None
    token_ttl_s: int = 8 * 3600
    admin_password: str | None = None  # the first administrator's, used once
    command_ack_timeout_s: float = 10.0
    silence_factor: float = 3.0
    # The bearer token a Prometheus scrape of /metrics presents. None: /metrics is open in
    # development and closed in production.
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        if self.env == "production":
            if not self.admin_password:
                raise ValueError("refusing to start in production without DAYUAN_ADMIN_PASSWORD")
            if not self.token_secret:
                raise ValueError("refusing to start in production without DAYUAN_TOKEN_SECRET")

    def signing_key(self) -> str:
        return self.token_secret or secrets.token_urlsafe(48)
