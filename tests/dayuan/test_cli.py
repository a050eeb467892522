"""The `dayuan` entry points: parsing, and refusals an operator can read."""

from __future__ import annotations

import secrets

import pytest

from broker import BackendRole
from dayuan import cli
from dayuan.settings import Settings


def test_every_package_command_is_wired() -> None:
    parser = cli._parser()
    for argv in (
        ["supervisor", "--interval", "2"],
        ["rules", "run"],
        ["api"],
        ["compound", "generate", "--out", "x.yaml"],
        ["manifest", "check", "m"],
        ["drill"],
        ["gateway"],
        ["db", "upgrade"],
    ):
        assert callable(parser.parse_args(argv).func)


def test_a_command_without_its_database_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DAYUAN_DATABASE_URL", raising=False)
    assert cli.main(["supervisor"]) == 1
    assert cli.main(["db", "upgrade"]) == 1
    assert "DAYUAN_DATABASE_URL" in capsys.readouterr().err


def test_bad_configuration_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAYUAN_ENV", "production")
    assert cli.main(["db", "upgrade"]) == 2
    assert "DAYUAN_DEVICE_SECRET" in capsys.readouterr().err


def test_weak_secrets_are_named_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAYUAN_ENV", "production")
    monkeypatch.setenv("DAYUAN_TOKEN_SECRET", "hunter2-hunter2")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "DAYUAN_TOKEN_SECRET has too little entropy" in err
    assert "hunter2" not in err


def test_a_weak_metrics_token_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DAYUAN_ENV", "production")
    monkeypatch.setenv("DAYUAN_METRICS_TOKEN", "prometheus")
    assert cli.main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "DAYUAN_METRICS_TOKEN has too little entropy" in err
    assert "prometheus" not in err.replace("DAYUAN_METRICS_TOKEN", "")


def test_a_weak_fleet_password_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    strong = {
        "DAYUAN_ENV": "production",
        "DAYUAN_DATABASE_URL": "postgresql://127.0.0.1:1/never-reached",
        "DAYUAN_MQTT_URL": "mqtt://127.0.0.1:1883",
        "DAYUAN_DEVICE_SECRET": secrets.token_urlsafe(32),
        "DAYUAN_BACKEND_PASSWORD": secrets.token_urlsafe(32),
        "DAYUAN_TOKEN_SECRET": secrets.token_urlsafe(32),
        "DAYUAN_ADMIN_PASSWORD": secrets.token_urlsafe(16),
    }
    for key, value in strong.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["broker", "config", "--out", "unused", "--fleet-password", "x"]) == 2
    assert "refusing --fleet-password in production" in capsys.readouterr().err


def test_mqtt_3_1_1_is_chosen_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The README's way to reach an MQTT 3.1.1 broker (RabbitMQ's plugin): it was refused
    # as "Input should be 5 or 4" when it came from the environment as text.
    monkeypatch.setenv("DAYUAN_MQTT_PROTOCOL", "4")
    monkeypatch.setenv("DAYUAN_MQTT_URL", "mqtt://gw:pw@127.0.0.1:1883")
    endpoint = Settings().mqtt_as(BackendRole.GATEWAY)
    assert endpoint is not None
    assert endpoint.protocol == 4
    monkeypatch.setenv("DAYUAN_MQTT_PROTOCOL", "3")
    with pytest.raises(ValueError, match="mqtt_protocol"):
        Settings()
