"""Logging in to `dayuan up`: the banner says how, every start; DAYUAN_ADMIN_PASSWORD
applies or the start says why not; `dayuan users reset-password` for a lost one."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

import api
from dayuan import _up, cli
from dayuan.settings import Settings

Conn = psycopg.Connection[Any]
OLD = "the-first-admin-password"
NEW = "a-new-admin-password-1"


def _login(conn: Conn, data: Path, admin_password: str | None = None) -> str:
    settings = Settings(database_url="postgresql://unused", admin_password=admin_password)
    return _up._login(conn, settings, data, now=datetime.now(UTC))


def test_a_generated_password_is_in_the_banner_then_in_the_data_dir(
    conn: Conn, tmp_path: Path
) -> None:
    first = _login(conn, tmp_path)
    kept = tmp_path / _up.ADMIN_PASSWORD_FILE
    generated = kept.read_text()
    assert generated in first
    assert kept.stat().st_mode & 0o777 == 0o600
    assert api.is_password(conn, "admin", generated)
    again = _login(conn, tmp_path)
    assert generated not in again
    assert f"password in {kept}" in again


def test_the_variable_applies_when_it_creates_the_admin(conn: Conn, tmp_path: Path) -> None:
    assert "DAYUAN_ADMIN_PASSWORD" in _login(conn, tmp_path, OLD)
    assert not (tmp_path / _up.ADMIN_PASSWORD_FILE).exists()
    assert api.is_password(conn, "admin", OLD)
    assert _login(conn, tmp_path, OLD) == "user 'admin', password DAYUAN_ADMIN_PASSWORD"


def test_a_changed_variable_is_not_applied_and_the_start_says_so(
    conn: Conn, tmp_path: Path
) -> None:
    _login(conn, tmp_path, OLD)
    banner = _login(conn, tmp_path, NEW)
    assert "is NOT its password" in banner
    assert "dayuan users reset-password admin" in banner
    assert api.is_password(conn, "admin", OLD)  # never applied behind the operator's back
    done = api.first_admin(conn, password=NEW, now=datetime.now(UTC))
    assert (done.created, done.configured) == (False, False)


def test_reset_password_from_stdin_replaces_the_old_one(
    conn: Conn,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(conn, tmp_path, OLD)
    monkeypatch.setenv("DAYUAN_DATABASE_URL", db_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
    assert cli.main(["users", "reset-password", "admin", "--password-stdin"]) == 0
    assert api.is_password(conn, "admin", NEW)
    assert not api.is_password(conn, "admin", OLD)
    # The banner no longer claims the variable's (old) password works.
    assert "is NOT its password" in _login(conn, tmp_path, OLD)
    assert "changed" in capsys.readouterr().out


def test_reset_password_generates_prints_and_refuses_what_it_cannot_do(
    conn: Conn,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _login(conn, tmp_path, OLD)
    monkeypatch.setenv("DAYUAN_DATABASE_URL", db_url)
    assert cli.main(["users", "reset-password", "admin", "--generate"]) == 0
    printed = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert api.is_password(conn, "admin", printed)
    assert cli.main(["users", "reset-password", "nobody", "--generate"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "reset-password", "admin", "--password-stdin"]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err
    assert api.is_password(conn, "admin", printed)
