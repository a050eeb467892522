"""The case detail (GET /api/v1/cases/{id}, what the dashboard's case pane reads) shows
the case's notifications on its timeline: each delivery's state and why one failed,
each repeat round with the person it added, each answer from a link; and a
notification of a heart-rate alarm names no reading to a role without health access."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg_pool import ConnectionPool

import cases
import notify
import registry
from cases import AlarmNotice
from domain import CompoundFile, Severity, Staff, StaffRole, SystemClock
from tests.api.conftest import Conn, full_registry
from tests.api.test_ack_link import TOLD, Outbox, path_of, sos_with_links

H = dict[str, dict[str, str]]


class RefusingOutbox(Outbox):
    """The channels, refusing for good (an HTTP 404) every message to anyone but `known`."""

    def __init__(self, known: tuple[str, ...]) -> None:
        super().__init__()
        self.known = known

    def __call__(self, url: str, message: notify.Message) -> None:
        if message.recipient not in self.known:
            raise notify.DeliveryFailed("json://127.0.0.1", "HTTP 404 Not Found", permanent=True)
        super().__call__(url, message)


def add_community_staff(db_url: str) -> None:
    """The registry with a residents' committee member, s-rc: the call list's last."""
    base = full_registry().compounds[0]
    rc = Staff(id="s-rc", name="Committee", role=StaffRole.PROPERTY_STAFF, party="p-rc")
    staff = [
        s.model_copy(update={"contacts": [f"json://127.0.0.1:9/{s.id}"]}) for s in [*base.staff, rc]
    ]
    compound = base.model_copy(update={"staff": staff})
    with psycopg.connect(db_url, autocommit=True) as conn:
        registry.load(conn, CompoundFile(compounds=[compound]), actor="test", now=datetime.now(UTC))


def notices(client: httpx.Client, case_id: int, headers: dict[str, str]) -> list[dict[str, Any]]:
    got = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert got.status_code == 200, got.text
    found: list[dict[str, Any]] = got.json()["notices"]
    return found


def test_deliveries_a_repeat_round_and_an_answer_are_on_the_case_timeline(
    client: httpx.Client, base_url: str, headers: H, api_db: str
) -> None:
    case_id, links = sos_with_links(api_db, base_url)  # s-care and s-cadre2, both sent
    add_community_staff(api_db)  # the call list's next person after them
    cannot = client.post(path_of(links["s-care"]) + "?lang=en", data={"answer": "cannot"})
    assert cannot.status_code == 200
    with ConnectionPool(api_db, min_size=1, max_size=2) as pool:
        # "I cannot" made the next round due at once; its new person's channel refuses
        first_round = notify.Notifier(pool, clock=SystemClock(), deliver=RefusingOutbox(TOLD))
        first_round.run_once()

    got = notices(client, case_id, headers["admin"])
    sent = {(n["recipient"], n["round"]) for n in got if n["kind"] == "notification"}
    assert {("s-care", 0), ("s-cadre2", 0)} <= sent
    assert all(n["state"] == "sent" for n in got if n["kind"] == "notification" and n["round"] == 0)
    answers = [(n["recipient"], n["answer"]) for n in got if n["kind"] == "answer"]
    assert answers == [("s-care", "cannot")]
    (repeat,) = [n for n in got if n["kind"] == "repeat"]
    assert repeat["round"] == 1
    assert "s-care" not in repeat["told"]  # who cannot go is not called again
    assert "s-cadre2" in repeat["told"]
    assert repeat["added"] == ["s-rc"]  # the next person on the call list, one per round
    added = "s-rc"
    (failed,) = [n for n in got if n["kind"] == "notification" and n["recipient"] == added]
    assert (failed["state"], failed["reason"]) == ("failed", "attempt 1: HTTP 404 Not Found")
    assert failed["channel"] == "json://127.0.0.1"  # never the contact URL's path or secrets
    order = [(n["at"], n["kind"]) for n in got]
    assert [k for _, k in order].index("answer") < [k for _, k in order].index("repeat")


def test_a_heart_rate_alarms_notifications_name_no_reading_to_property_staff(
    client: httpx.Client, headers: H, conn: Conn, api_db: str
) -> None:
    notice = AlarmNotice(
        fingerprint="heart_rate_out_of_range:sos-1",
        rule_id="heart_rate_out_of_range",
        title="Heart rate out of range",
        severity=Severity.CRITICAL,  # critical: it notifies
        category="heart_rate_out_of_range",
        compound="c1",
        device_id="sos-1",
        flat="3-2-301",
        values={"heart_rate": 61.5},
        opened_at=datetime.now(UTC),
    )
    case = cases.Workflow(clock=SystemClock()).intake_alarm(conn, notice).case
    with ConnectionPool(api_db, min_size=1, max_size=2) as pool:
        notify.Notifier(pool, clock=SystemClock(), deliver=Outbox()).run_once()

    for role in ("property_staff", "viewer"):
        got = client.get(f"/api/v1/cases/{case.id}", headers=headers[role])
        assert got.status_code == 200, got.text
        shown = got.json()["notices"]
        assert shown
        assert all(n["kind"] == "notification" for n in shown)
        assert {n["state"] for n in shown} == {"failed"}  # the registry's staff: no contacts
        for word in ("heart", "Heart", "61.5"):
            assert word not in got.text, (role, word)
        listed = client.get(f"/api/v1/cases/{case.id}/notifications", headers=headers[role])
        assert listed.status_code == 200
        assert "heart" not in listed.text.lower()
    admin = notices(client, case.id, headers["admin"])
    assert len(admin) == len(shown)


def test_a_case_nobody_was_told_of_has_no_notices(
    client: httpx.Client, headers: H, conn: Conn
) -> None:
    case = cases.Workflow(clock=SystemClock()).intake_report(
        conn,
        cases.Report(
            compound="c1",
            category="repair",
            description="The stairwell light is out",
            reporter="r-1",
            location="3-2-301",
        ),
    )
    assert notices(client, case.case.id, headers["admin"]) == []
