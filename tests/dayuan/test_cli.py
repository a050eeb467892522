"""The `dayuan` entry points: parsing, and refusals an operator can read."""

from __future__ import annotations

import pytest

from dayuan import cli


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
