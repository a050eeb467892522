"""The command line: `dayuan compound generate` and `dayuan simulate`, wired by `register`."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from registry import read_compound_file
from simulators.cli import _rate, _simulate_options, _start, mqtt_target, register


def _main(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="dayuan")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_generate_writes_a_compound_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "compound.yaml"
    assert (
        _main(
            "compound",
            "generate",
            "--out",
            str(out),
            "--seed",
            "4",
            "--buildings",
            "3",
            "--parking-spaces",
            "60",
            "--share",
            "vacant=0.1",
        )
        == 0
    )
    compound = read_compound_file(out).compounds[0]
    assert len(compound.buildings) == 3
    assert compound.parking_spaces == 60
    assert "1 compound(s)" in capsys.readouterr().out


def test_generate_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "compound.yaml"
    assert _main("compound", "generate", "--out", str(out), "--share", "bogus=1") == 2
    assert "NAME one of" in capsys.readouterr().err
    assert _main("compound", "generate", "--out", str(out), "--floors", "0") == 2
    assert not out.exists()


def test_simulate_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _main(
            "simulate",
            "--compound",
            str(tmp_path / "none.yaml"),
            "--duration",
            "1h",
            "--mqtt-url",
            "mqtt://127.0.0.1:1",
        )
        == 1
    )
    assert "cannot read" in capsys.readouterr().err


def test_simulate_refuses_a_bad_duration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _main("simulate", "--compound", str(tmp_path / "c.yaml"), "--duration", "soon") == 2
    assert "--duration" in capsys.readouterr().err


def test_mqtt_urls() -> None:
    target = mqtt_target("mqtt://sim:p%40ss@broker.local:1884", device_secret="s")
    assert (target.host, target.port, target.username, target.password) == (
        "broker.local",
        1884,
        "sim",
        "p@ss",
    )
    assert target.device_secret == "s"
    assert mqtt_target("mqtt://127.0.0.1").port == 1883
    tls = mqtt_target("mqtts://broker")  # parsed as the backend parses DAYUAN_MQTT_URL
    assert (tls.endpoint.tls, tls.port) == (True, 8883)
    with pytest.raises(ValueError, match="mqtt:// or mqtts://"):
        mqtt_target("http://broker:8883")


def test_rates() -> None:
    assert _rate(None) is None
    assert _rate("max") == math.inf
    assert _rate("2500") == 2500.0
    with pytest.raises(ValueError, match="positive"):
        _rate("0")


def test_default_start_keeps_timestamps_out_of_the_future() -> None:
    now = datetime.now(UTC)
    real_time = _start(None, speed=1.0, rate=None, duration=None)
    assert abs(real_time - now) < timedelta(seconds=5)
    day_back = _start(None, speed=60.0, rate=None, duration=timedelta(hours=6))
    assert abs(day_back - (now - timedelta(hours=6))) < timedelta(seconds=5)
    explicit = _start("2024-05-06T07:00:00+08:00", speed=60.0, rate=None, duration=None)
    assert explicit == datetime(2024, 5, 5, 23, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="offset"):
        _start("2024-05-06T07:00:00", speed=60.0, rate=None, duration=None)


class _Secret:
    def get_secret_value(self) -> str:
        return "s3cret"


class _Settings:
    mqtt_url = "mqtt://fleet:pw@broker.example:1999"
    device_secret = _Secret()


def test_simulate_takes_the_broker_from_settings(tmp_path: Path) -> None:
    compound = tmp_path / "c.json"
    assert _main("compound", "generate", "--out", str(compound), "--buildings", "1") == 0
    parser = argparse.ArgumentParser(prog="dayuan")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", "--compound", str(compound), "--duration", "1h"])
    options = _simulate_options(args, _Settings())
    target = options["target"]
    assert (target.host, target.port, target.username, target.password) == (
        "broker.example",
        1999,
        "fleet",
        "pw",
    )
    assert target.device_secret == "s3cret"
    args = parser.parse_args(["simulate", "--compound", str(compound), "--mqtt-url", "mqtt://x:1"])
    assert _simulate_options(args, _Settings())["target"].host == "x"  # the flag wins
