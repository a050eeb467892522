"""`dayuan supervisor`: the parser it adds, and its refusal without a database."""

from __future__ import annotations

import argparse

import pytest

from cases import cli
from dayuan.settings import Settings


def test_register_adds_the_supervisor_command() -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["supervisor", "--interval", "2"])
    assert (args.func, args.interval, args.policy) == (cli.supervisor, 2.0, None)


def test_the_supervisor_needs_a_database_url() -> None:
    args = argparse.Namespace(interval=1.0, policy=None)
    with pytest.raises(RuntimeError, match="DAYUAN_DATABASE_URL"):
        cli.supervisor(args, Settings(database_url=None))
