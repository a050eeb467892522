"""`dayuan api`: the subcommand and the configuration it builds from the settings."""

from __future__ import annotations

import argparse

import pytest

from api import cli
from dayuan import cli as dayuan_cli
from dayuan.settings import Settings


def test_dayuan_api_runs_this_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """`dayuan.cli` names the subcommand without importing this module; it runs `serve`."""
    ran: list[argparse.Namespace] = []
    monkeypatch.setattr(cli, "serve", lambda args, settings: ran.append(args) or 0)
    args = dayuan_cli._parser().parse_args(["api"])
    assert args.func(args, Settings(database_url="postgresql://db/x")) == 0
    assert ran == [args]


def test_config_from_settings() -> None:
    settings = Settings(
        database_url="postgresql://db/x",
        mqtt_url="mqtt://broker.example:1884",
        admin_password="pw-of-the-first-admin",
        command_ack_timeout_s=3,
        streams_per_user=2,
    )
    config = cli.config_from(settings)
    assert config.mqtt is not None
    assert config.case_mqtt is not None
    # Commands go as the API's account, case transitions as the case publisher's.
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.username) == (
        "broker.example",
        1884,
        "dayuan-api",
    )
    assert config.case_mqtt.username == "dayuan-cases"
    assert config.mqtt.password != config.case_mqtt.password
    assert config.command_ack_timeout_s == 3
    assert config.streams_per_user == 2
    assert config.admin_password == "pw-of-the-first-admin"


def test_no_database_url_is_refused() -> None:
    with pytest.raises(ValueError, match="DAYUAN_DATABASE_URL"):
        cli.config_from(Settings())
