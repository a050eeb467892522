"""Fixtures of the resident side's tests: the API on a real uvicorn (real PostgreSQL,
the session's Mosquitto) whose resident channel is a real SMTP server, so that a test
reads the sign-in code and the outcome from the mail a resident's phone would get."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from PIL import Image

import cases
import registry
from api import create_app
from tests.api.conftest import (
    ADMIN_PASSWORD,
    FakeClock,
    bearer,
    config_for,
    full_registry,
    login,
    serve,
    wait_ready,
)
from tests.fix_mqtt import Broker
from tests.notify.conftest import Mailbox, free_port, mail_url
from tests.notify.conftest import receiver as receiver  # a recording HTTP server

Conn = psycopg.Connection[tuple[Any, ...]]
PHONE_A = "+8613800000001"
PHONE_B = "+8613800000002"
# Compound c1 takes anonymous reports; the rest of the defaults stand.
POLICY = cases.Policy(residents={"c1": cases.ResidentPolicy(anonymous=True)})


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def api_db(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, full_registry(), actor="test:setup", now=datetime.now(UTC))
    return db_url


@pytest.fixture
def conn(api_db: str) -> Iterator[Conn]:
    with psycopg.connect(api_db, autocommit=True) as c:
        yield c


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(api_db: str, broker: Broker, clock: FakeClock, mailbox: Mailbox) -> FastAPI:
    config = config_for(
        api_db,
        broker,
        resident_channel=mail_url(mailbox.port, "{digits}@sms.example.org"),
        resident_outcome_poll_s=0.2,
    )
    return create_app(config, clock=clock, policy=POLICY)


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        wait_ready(c)
        yield c


@pytest.fixture
def admin(client: httpx.Client) -> dict[str, str]:
    return bearer(login(client, "admin", ADMIN_PASSWORD))


def mails_to(box: Mailbox, phone: str) -> list[Any]:
    return [m for m in box.messages if phone.lstrip("+") in str(m["To"])]


def body_of(mail: Any) -> str:
    part = mail.get_payload(decode=True) if not mail.is_multipart() else None
    if part is None:
        part = next(p for p in mail.walk() if p.get_content_type() == "text/plain").get_payload(
            decode=True
        )
    return str(part.decode("utf-8"))


def wait_mail(box: Mailbox, phone: str, n: int) -> Any:
    """The n-th mail to the number (1-based), waiting for it."""
    with box.arrived:
        assert box.arrived.wait_for(lambda: len(mails_to(box, phone)) >= n, 30), box.messages
        return mails_to(box, phone)[n - 1]


def code_from(mail: Any) -> str:
    found = re.search(r"\b(\d{6})\b", body_of(mail))
    assert found, body_of(mail)
    return found[1]


SignIn = Callable[[str], dict[str, str]]


@pytest.fixture
def sign_in(client: httpx.Client, mailbox: Mailbox) -> SignIn:
    """Sign a number in as a resident (the code read from its mail); its header."""

    def go(phone: str) -> dict[str, str]:
        before = len(mails_to(mailbox, phone))
        sent = client.post("/api/v1/residents/auth/code", json={"phone": phone, "language": "en"})
        assert sent.status_code == 202, sent.text
        code = code_from(wait_mail(mailbox, phone, before + 1))
        token = client.post(
            "/api/v1/residents/auth/token", json={"phone": phone, "code": code, "language": "en"}
        )
        assert token.status_code == 200, token.text
        return bearer(token.json()["access_token"])

    return go


@dataclass(frozen=True)
class Household:
    headers: dict[str, str]
    flat: str


@pytest.fixture
def confirmed(
    client: httpx.Client, admin: dict[str, str], sign_in: SignIn
) -> Callable[[str, str], dict[str, str]]:
    """A resident signed in and confirmed by the admin as living in `flat` of c1."""

    def go(phone: str, flat: str) -> dict[str, str]:
        me = sign_in(phone)
        asked = client.post(
            "/api/v1/residents/me/household", json={"compound": "c1", "flat": flat}, headers=me
        )
        assert asked.status_code == 202, asked.text
        pending = client.get("/api/v1/residents/links", params={"compound": "c1"}, headers=admin)
        assert pending.status_code == 200, pending.text
        mine = [x for x in pending.json()["data"] if x["phone"] == phone]
        assert len(mine) == 1, pending.json()
        decided = client.post(
            f"/api/v1/residents/links/{mine[0]['resident_id']}",
            json={"confirm": True},
            headers=admin,
        )
        assert decided.status_code == 200, decided.text
        return me

    return go


def jpeg(size: tuple[int, int] = (640, 480), exif: Image.Exif | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format="JPEG", exif=exif or Image.Exif())
    return out.getvalue()


def gps_exif() -> Image.Exif:
    """EXIF with a GPS position (Hangzhou), a camera make and a serial number."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0xA431] = "SERIAL-12345"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (30.0, 16.0, 12.0)
    gps[3] = "E"
    gps[4] = (120.0, 9.0, 36.0)
    return exif
