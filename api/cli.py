"""`dayuan api`: serve the API with uvicorn on DAYUAN_API_HOST:DAYUAN_API_PORT.

`dayuan.cli` names the subcommand and imports this module only when it runs (importing
it loads FastAPI and uvicorn); `serve` is `func(args, settings) -> int` and reads only the
settings it needs (duck-typed, so this module imports nothing of `dayuan`).
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

import broker
from api._config import ApiConfig, parse_networks
from api.main import create_app


def config_from(settings: Any) -> ApiConfig:
    """The API's configuration from the process's `dayuan.settings.Settings`."""
    if settings.database_url is None:
        raise ValueError("DAYUAN_DATABASE_URL is not set (`dayuan up` serves the API itself)")
    secret = settings.token_secret.get_secret_value() if settings.token_secret else None
    admin = settings.admin_password.get_secret_value() if settings.admin_password else None
    return ApiConfig(
        database_url=settings.database_url,
        mqtt=settings.mqtt_as(broker.BackendRole.API),
        case_mqtt=settings.mqtt_as(broker.BackendRole.CASES),
        accounts_mqtt=settings.mqtt_as(broker.BackendRole.ACCOUNTS)
        if settings.broker_accounts == "dynsec"
        else None,
        device_secret=settings.device_secret.get_secret_value(),
        env=settings.env,
        token_secret=secret,
        token_ttl_s=settings.token_ttl_s,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        admin_password=admin,
        command_ack_timeout_s=settings.command_ack_timeout_s,
        streams_per_user=settings.streams_per_user,
        silence_factor=settings.silence_factor,
        metrics_token=settings.metrics_token.get_secret_value() if settings.metrics_token else None,
        public_url=settings.public_url or f"http://{settings.api_host}:{settings.api_port}",
        ack_link_ttl_s=settings.ack_link_ttl_s,
        rules_file=settings.rules_file,
        open311_services=tuple(
            c.strip() for c in settings.open311_services.split(",") if c.strip()
        ),
        announce_poll_s=settings.announce_poll_s,
        parking_sweep_s=settings.parking_sweep_s,
        webhook_secret=(
            settings.notify_webhook_secret.get_secret_value()
            if settings.notify_webhook_secret
            else None
        ),
        resident_channel=settings.resident_channel,
        resident_token_ttl_s=settings.resident_token_ttl_s,
    )


def serve(args: argparse.Namespace, settings: Any) -> int:
    app = create_app(config_from(settings))
    print(
        f"Dayuan API on http://{settings.api_host}:{settings.api_port}"
        f" (docs: /docs). Log in: POST /api/v1/auth/token as 'admin'"
        " with DAYUAN_ADMIN_PASSWORD."
    )
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        # uvicorn would believe X-Forwarded-For from any loopback peer; only the
        # configured DAYUAN_TRUSTED_PROXIES are believed (api.deps.client_address).
        proxy_headers=False,
    )
    return 0
