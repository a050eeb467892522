"""`dayuan users reset-password USERNAME`: a lost password, set again from the console.

It reaches the database that `dayuan up` or the API uses (DAYUAN_DATABASE_URL, else the
embedded PostgreSQL in DAYUAN_DATA_DIR/pg, shared with a running `dayuan up`). The new
password comes from a prompt, from standard input (`--password-stdin`, for scripts), or
is generated and printed (`--generate`). Setting it revokes the user's tokens."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import secrets
import sys
from collections.abc import Iterator

import psycopg

import ingest
from dayuan._secrets import ADMIN_PASSWORD_MIN_LENGTH
from dayuan.settings import Settings

GENERATED_BYTES = 12  # token_urlsafe(12): 16 characters, ~96 bits


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", help="API users").add_subparsers(required=True)
    reset = users.add_parser(
        "reset-password", help="set a user's password (prompted, from stdin, or generated)"
    )
    reset.add_argument("username")
    source = reset.add_mutually_exclusive_group()
    source.add_argument(
        "--password-stdin", action="store_true", help="read the new password from stdin"
    )
    source.add_argument("--generate", action="store_true", help="generate a password and print it")
    reset.set_defaults(func=reset_password)


def reset_password(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the CLI's parser imports this module for `register`, and every other
    # command (a gateway above all) must start without loading FastAPI.
    import api

    password = _new_password(args)
    if len(password) < ADMIN_PASSWORD_MIN_LENGTH:
        print(
            f"dayuan: a password needs at least {ADMIN_PASSWORD_MIN_LENGTH} characters",
            file=sys.stderr,
        )
        return 2
    try:
        with _database(settings) as url, psycopg.connect(url) as conn:
            done = api.reset_password(conn, args.username, password)
    except psycopg.errors.UndefinedTable:
        raise ValueError("the database has no users yet: start `dayuan up` first") from None
    if not done:
        print(f"dayuan: no user {args.username!r}", file=sys.stderr)
        return 1
    if args.generate:
        print(f"new password of {args.username!r}: {password}")
    else:
        print(f"password of {args.username!r} changed; their open sessions are signed out")
    return 0


def _new_password(args: argparse.Namespace) -> str:
    if args.generate:
        return secrets.token_urlsafe(GENERATED_BYTES)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to prompt on: use --password-stdin or --generate")
    first = getpass.getpass(f"new password for {args.username}: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ; nothing changed")
    return first


@contextlib.contextmanager
def _database(settings: Settings) -> Iterator[str]:
    if settings.database_url:
        yield settings.database_url
        return
    data = settings.data_dir.resolve() / "pg"
    if not data.exists():
        raise ValueError(f"no DAYUAN_DATABASE_URL and no embedded database in {data}")
    with ingest.embedded_postgres(data) as db:
        yield db.url
