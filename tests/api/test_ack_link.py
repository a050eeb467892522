"""The acknowledgement link's page over HTTP (a real uvicorn, real PostgreSQL): it shows
the case, "I am going" acknowledges it once as the staff member, and a used, expired,
forged or malformed link is refused with a page saying why."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

import cases
import notify
import registry
from domain import CompoundFile, SystemClock
from tests.api.conftest import FakeClock, config_for, full_registry, serve, wait_ready
from tests.cases.conftest import sos

SECRET = config_for("", None).token_secret or ""
TOLD = ("s-care", "s-cadre2")  # the SOS in 3-2-301 reaches the care centre and grid g2


class Outbox:
    """Stands in for the channels: keeps what each recipient would have received."""

    def __init__(self) -> None:
        self.sent: dict[str, notify.Message] = {}

    def __call__(self, url: str, message: notify.Message) -> None:
        self.sent[message.recipient] = message


def sos_with_links(db_url: str, public_url: str) -> tuple[int, dict[str, str]]:
    """An SOS case whose notifications were delivered with links to `public_url`; its
    id and each recipient's link."""
    base = full_registry().compounds[0]
    staff = [s.model_copy(update={"contacts": [f"json://127.0.0.1:9/{s.id}"]}) for s in base.staff]
    compound = base.model_copy(update={"staff": staff})
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, CompoundFile(compounds=[compound]), actor="test", now=datetime.now(UTC))
        case = cases.Workflow(clock=SystemClock()).intake_alarm(conn, sos()).case
    outbox = Outbox()
    with ConnectionPool(db_url, min_size=1, max_size=2, open=True) as pool:
        notifier = notify.Notifier(
            pool,
            clock=SystemClock(),
            deliver=outbox,
            links=notify.Links(public_url, SECRET),
            rate=notify.RateLimit(per_s=1000, burst=1000),
        )
        notifier.run_once()
    links = {r: str(m.document["ack_url"]) for r, m in outbox.sent.items()}
    assert all(f"{public_url}/a/" in outbox.sent[r].body for r in links)
    return case.id, links


@pytest.fixture
def served(app: FastAPI) -> Iterator[tuple[str, httpx.Client]]:
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        wait_ready(client)
        yield url, client


def path_of(link: str) -> str:
    return "/a/" + link.rsplit("/a/", 1)[1]


def test_the_page_shows_the_case_and_i_am_going_acknowledges_it_once(
    served: tuple[str, httpx.Client], api_db: str
) -> None:
    url, client = served
    case_id, links = sos_with_links(api_db, url)
    assert set(links) == set(TOLD)
    page = path_of(links["s-care"])

    shown = client.get(page, headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert shown.status_code == 200
    assert "default-src 'self'" in shown.headers["content-security-policy"]
    for text in ("SOS button pressed", "3-2-301", "Test compound", "I am going", "Cadre 2"):
        assert text in shown.text
    assert "<script" not in shown.text
    assert "style=" not in shown.text
    assert "我去处理" in client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "我去处理" in client.get(page + "?lang=zh", headers={"Accept-Language": "en"}).text
    assert client.get("/a/_/ack.css").headers["content-type"].startswith("text/css")

    going = client.post(page + "?lang=en", data={"answer": "going"})
    assert going.status_code == 200
    assert "you are going" in going.text
    with psycopg.connect(api_db) as conn:
        case = cases.get_case(conn, case_id)
        actors = [
            e.actor
            for e in cases.case_events(conn, case_id=case_id)
            if e.transition == "acknowledged"
        ]
    assert (case.state, case.first_responsible, actors) == (
        cases.State.ACKNOWLEDGED,
        "s-care",
        ["staff:s-care"],
    )

    again = client.get(page + "?lang=en")
    pressed = client.post(page + "?lang=en", data={"answer": "going"})
    for refused in (again, pressed):
        assert refused.status_code == 410
        assert "this link was used at" in refused.text
    other = client.post(path_of(links["s-cadre2"]) + "?lang=en", data={"answer": "going"})
    assert other.status_code == 409
    assert "already acknowledged by staff:s-care" in other.text


def test_i_cannot_is_recorded_and_forged_malformed_and_expired_links_are_refused(
    served: tuple[str, httpx.Client], api_db: str, clock: FakeClock
) -> None:
    url, client = served
    case_id, links = sos_with_links(api_db, url)
    cannot = client.post(path_of(links["s-care"]) + "?lang=en", data={"answer": "cannot"})
    assert cannot.status_code == 200
    assert "next person" in cannot.text
    with psycopg.connect(api_db) as conn:
        assert cases.get_case(conn, case_id).state is cases.State.DISPATCHED
        declined = conn.execute(
            "SELECT declined FROM notify_repeats WHERE case_id = %s", (case_id,)
        ).fetchone()
    assert declined == (["s-care"],)

    forged = notify.Links(url, "not-the-secret").token(1, datetime.now(UTC))
    assert client.get(f"/a/{forged}?lang=en").status_code == 403
    assert "signature is wrong" in client.get(f"/a/{forged}?lang=en").text
    assert client.get("/a/nonsense?lang=en").status_code == 404

    clock.advance(hours=24, minutes=1)
    late = client.get(path_of(links["s-cadre2"]) + "?lang=en")
    assert late.status_code == 410
    assert "expired at" in late.text
