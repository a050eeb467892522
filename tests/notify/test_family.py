"""A household's emergency contacts hear of an SOS in the flat by email (a real SMTP
server): what happened, where and when, never the resident's health notes and no
acknowledgement link; a household that did not consent has none of its contacts told
(or kept)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message as EmailMessage

import psycopg
import pytest

import cases
import notify
import registry
from domain import CompoundFile, EmergencyContact, Language
from tests.cases.conftest import ELDER_FLAT, T0, sos
from tests.notify.conftest import Conn, Mailbox, mail_url, with_contacts
from tests.notify.test_delivery import subject_of, text_of

pytestmark = pytest.mark.usefixtures("schema_url")

FAMILY = "daughter@example.org"
NEIGHBOUR = "neighbour@example.org"  # reads English
STAFF = "care@example.org"


@pytest.fixture
def load_family(schema_url: str, mailbox: Mailbox) -> Callable[[bool], None]:
    def load(consent: bool) -> None:
        base = with_contacts({"s-care": [mail_url(mailbox.port, STAFF)]})
        family = [
            EmergencyContact(name="Li Mei", contact=mail_url(mailbox.port, FAMILY)),
            EmergencyContact(
                name="Anna", contact=mail_url(mailbox.port, NEIGHBOUR), language=Language.EN
            ),
        ]
        households = [
            h.model_copy(update={"emergency_contacts": family, "consent": consent})
            if h.flat == ELDER_FLAT
            else h
            for h in base.households
        ]
        compound = base.model_copy(update={"households": households})
        with psycopg.connect(schema_url) as conn:
            registry.load(conn, CompoundFile(compounds=[compound]), actor="test", now=T0)

    return load


def addressed(mailbox: Mailbox, n: int) -> dict[str, EmailMessage]:
    return {m["To"]: m for m in mailbox.wait_for(n)}


def test_a_consenting_familys_contact_hears_of_an_sos_without_health_notes(
    conn: Conn,
    workflow: cases.Workflow,
    mailbox: Mailbox,
    load_family: Callable[[bool], None],
    run_notifiers: Callable[..., object],
) -> None:
    load_family(True)
    case = workflow.intake_alarm(conn, sos()).case
    run_notifiers(links=notify.Links("https://dayuan.example.org", "link-secret"))
    mail = addressed(mailbox, 3)
    family = mail[FAMILY]
    text = text_of(family)
    assert "SOS求助" in subject_of(family)  # in Chinese unless the file says otherwise
    assert ELDER_FLAT in subject_of(family)
    assert f"小区c1的{ELDER_FLAT}发出SOS求助" in text
    assert "Li Mei" in text
    assert "值班的照护人员已收到通知" in text
    neighbour = text_of(mail[NEIGHBOUR])
    assert f"An SOS alarm was raised at flat {ELDER_FLAT} in compound c1" in neighbour
    assert "Dear Anna" in neighbour
    for told in (family, mail[NEIGHBOUR]):
        assert "hypertension" not in text_of(told) + str(told)  # the resident's health notes
        assert "/a/" not in text_of(told)  # no acknowledgement link for a relative
    assert "/a/" in text_of(mail[STAFF])  # the responder has one
    recipients = {n.recipient for n in notify.notifications_for_case(conn, case.id)}
    assert f"family:{ELDER_FLAT}:0" in recipients


def test_without_consent_no_family_contact_is_told_or_kept(
    conn: Conn,
    workflow: cases.Workflow,
    mailbox: Mailbox,
    load_family: Callable[[bool], None],
    run_notifiers: Callable[..., object],
) -> None:
    load_family(False)
    assert registry.emergency_contacts(conn, "c1", ELDER_FLAT) == []
    case = workflow.intake_alarm(conn, sos()).case
    run_notifiers()
    assert set(addressed(mailbox, 1)) == {STAFF}
    recipients = {n.recipient for n in notify.notifications_for_case(conn, case.id)}
    assert not any(r.startswith("family:") for r in recipients)
    document = conn.execute("SELECT document::text FROM compounds").fetchone()
    assert document is not None
    assert FAMILY not in document[0]
