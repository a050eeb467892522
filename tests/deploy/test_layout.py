"""The production layout's files (`deploy/`) against what they drive. They cannot run
here (no Docker engine, no systemd), so what can drift is checked: every command they
start parses with the `dayuan` CLI, every DAYUAN_ variable they set is a setting, the
environment each layout gives its processes passes the production checks, the image
holds every package, and the README lists every setting."""

from __future__ import annotations

import re
import secrets
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import broker
from dayuan import cli
from dayuan.settings import Settings

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS = {f"DAYUAN_{name.upper()}" for name in Settings.model_fields}
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return doc


def _ours(service: dict[str, Any]) -> bool:
    return "build" in service or service.get("image") == "dayuan:latest"


def _argvs(service: dict[str, Any]) -> list[list[str]]:
    """The `dayuan` command lines a service of our image runs."""
    entrypoint, command = service.get("entrypoint"), service.get("command")
    if entrypoint is None:  # the image's ENTRYPOINT ["dayuan"]
        return [shlex.split(command) if isinstance(command, str) else list(command)]
    if entrypoint[:2] == ["sh", "-ec"]:
        steps = [shlex.split(step) for step in command[0].split("&&")]
        assert all(step[0] == "dayuan" for step in steps), steps
        return [step[1:] for step in steps]
    return []  # not a Dayuan process (the broker)


def _env_file(path: Path) -> dict[str, str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def _dockerfile_env() -> dict[str, str]:
    [line] = [x for x in (DEPLOY / "Dockerfile").read_text().splitlines() if x.startswith("ENV ")]
    return dict(pair.split("=", 1) for pair in line.split()[1:])


def _parses(argv: list[str]) -> None:
    try:
        cli._parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`dayuan {shlex.join(argv)}` is not a command of this CLI")


def _settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    import os

    for key in [k for k in os.environ if k.startswith("DAYUAN_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_every_compose_service_runs_a_real_command() -> None:
    services = _compose()["services"]
    argvs = [argv for s in services.values() if _ours(s) for argv in _argvs(s)]
    assert len(argvs) >= 8, argvs  # setup's three steps, two gateways, rules, supervisor, api
    for argv in argvs:
        _parses(argv)
    assert services["mosquitto"]["entrypoint"][0] == "mosquitto"


def test_every_systemd_unit_runs_a_real_command() -> None:
    assert len(UNITS) == 5
    for unit in UNITS:
        [start] = re.findall(r"^ExecStart=\S+/dayuan (.*)$", unit.read_text(), re.MULTILINE)
        _parses(shlex.split(start))


def test_every_variable_the_layouts_set_is_a_setting() -> None:
    compose = (DEPLOY / "compose.yaml").read_text()
    files = [DEPLOY / "compose.env.example", DEPLOY / "systemd" / "dayuan.env.example", *UNITS]
    used = set(re.findall(r"\bDAYUAN_[A-Z_]+", compose))
    for path in files:
        used |= set(re.findall(r"\bDAYUAN_[A-Z_]+", path.read_text()))
    assert used - SETTINGS == set()


def _edited(env: dict[str, str]) -> dict[str, str]:
    """The example as an operator leaves it: every CHANGE-ME replaced by a generated secret."""
    return {k: v.replace("CHANGE-ME", secrets.token_urlsafe(32)) for k, v in env.items()}


def test_the_examples_fail_the_production_checks_until_edited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _env_file(DEPLOY / "systemd" / "dayuan.env.example")
    with pytest.raises(ValidationError) as refused:
        _settings(monkeypatch, env)
    for name in (
        "DAYUAN_DEVICE_SECRET",
        "DAYUAN_BACKEND_PASSWORD",
        "DAYUAN_TOKEN_SECRET",
        "DAYUAN_ADMIN_PASSWORD",
    ):
        assert f"{name} looks like a placeholder" in refused.value.errors()[0]["msg"], name
    assert "CHANGE-ME" not in refused.value.errors()[0]["msg"]  # the reason, never the value
    compose = {**_env_file(DEPLOY / "compose.env.example"), "DAYUAN_ENV": "production"}
    with pytest.raises(ValidationError, match="DAYUAN_DEVICE_SECRET looks like a placeholder"):
        _settings(monkeypatch, compose)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("x", "too little entropy"),
        ("a" * 64, "too little entropy"),
        ("Tr0ub4dor&3", "too little entropy"),
        ("my-secret-value-0123456789abcdefghijklmnopqrstuvwxyz", "placeholder"),
    ],
)
def test_weak_machine_secrets_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    env = _edited(_env_file(DEPLOY / "systemd" / "dayuan.env.example"))
    with pytest.raises(ValidationError, match=f"DAYUAN_TOKEN_SECRET [^;]*{reason}"):
        _settings(monkeypatch, {**env, "DAYUAN_TOKEN_SECRET": value})
    for generated in (secrets.token_urlsafe(32), secrets.token_hex(32)):
        assert _settings(monkeypatch, {**env, "DAYUAN_TOKEN_SECRET": generated}).token_secret


def test_the_compose_layout_passes_the_production_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    compose = _compose()
    given = _edited(_env_file(DEPLOY / "compose.env.example"))
    for name, service in compose["services"].items():
        if not _ours(service) or name == "mosquitto":
            continue
        env = {**_dockerfile_env(), **given, **service["environment"]}
        env = {k: v.replace("${DB_PASSWORD}", given["DB_PASSWORD"]) for k, v in env.items()}
        settings = _settings(monkeypatch, env)
        assert settings.env == "production", name
        assert settings.storage == "timescaledb"
    consumers = [
        s for s in compose["services"].values() if s.get("command") in ("gateway", ["rules", "run"])
    ]
    ids = [s["environment"]["DAYUAN_GATEWAY_ID"] for s in consumers]
    assert len(ids) == 3
    assert len(set(ids)) == 3  # one MQTT session each


def test_the_systemd_layout_passes_the_production_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _edited(_env_file(DEPLOY / "systemd" / "dayuan.env.example"))
    settings = _settings(monkeypatch, env)
    assert settings.env == "production"
    assert settings.mqtt_url is not None
    assert settings.mqtt_url.startswith("mqtts://")
    assert not settings.rules_enabled  # gateways store; rule engines run per partition
    # Each backend connection logs in as its own role, as `dayuan broker config` writes them.
    for role in broker.BackendRole:
        endpoint = settings.mqtt_as(role)
        assert endpoint is not None
        assert endpoint.username == f"dayuan-{role}"


def test_the_image_holds_every_package() -> None:
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = [p.removesuffix("*") for p in found["packages"]["find"]["include"]]
    copied = re.findall(r"^COPY (\w+) \1$", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    assert sorted(copied) == sorted(packages)


def test_the_readme_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert {s for s in SETTINGS if f"`{s}`" not in readme} == set()
