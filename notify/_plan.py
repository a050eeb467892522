"""Planning: an outbox row (one case event) becomes one notification per recipient and
contact point, with the message it will carry, in one transaction that also marks the
row planned. Whom to reach is `recipients`, a function the notifier is given: this
default reaches, of each party the case went to, those its on-call roster has on duty
(the whole party when it has no roster), and the case's grid team (an escalation: the
rung's person, or the rung party's people on duty). A recipient in their quiet hours
gets a non-critical message when those hours end (the row waits, queued); an SOS, a
fall or a critical case goes at once. An SOS or fall dispatch also starts its repeats
(a `notify_repeats` row, run by `notify._repeat`) with the people it reached, and tells
the flat's emergency contacts where the household consented (what and where, nothing of
health, no acknowledgement link).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

import cases
import registry
from notify._db import Conn
from notify._model import Message, NotifyPolicy, Recipient
from notify._text import CATEGORY, FAMILY_WHAT, SEVERITY, text

# The transitions the outbox trigger takes in (0013_notify.sql lists the same).
OUTBOX_TRANSITIONS = frozenset({"dispatched", "escalated"})
# Outbox rows planned per transaction: short transactions, and an SOS behind a burst
# of escalations waits for at most this many.
PLAN_BATCH = 50

Recipients = Callable[[Conn, cases.Case, cases.CaseEvent], Sequence[Recipient]]
# Recipient ids of a household's emergency contacts: "family:<flat>:<position>". They
# are told what happened and where, get no acknowledgement link and are not repeated to.
FAMILY = "family:"

# Everyone who may be asked to go at an instant, in order: repeats reach the next of
# them each round.
CallList = Callable[[Conn, cases.Case, datetime], Sequence[str]]


def staff_recipients(conn: Conn, case: cases.Case, event: cases.CaseEvent) -> list[Recipient]:
    """The staff who must hear of this event (on duty when it happened), each with
    their contact points."""
    staff = _escalation_staff(conn, case, event) if event.transition == "escalated" else []
    if event.transition == "dispatched":
        for a in case.assignments:
            staff += _on_duty(conn, case, a.party_id, event.at)
        staff += registry.grid_team(conn, case.compound, case.grid_id)
    return recipients_of(conn, case.compound, list(dict.fromkeys(staff)))


def recipients_of(conn: Conn, compound: str, staff: list[str]) -> list[Recipient]:
    """These staff members with their contact points and language."""
    contacts = registry.staff_contacts(conn, compound, staff)
    languages = registry.staff_languages(conn, compound, staff)
    return [Recipient(s, tuple(contacts[s]), languages[s]) for s in staff]


def staff_call_list(conn: Conn, case: cases.Case, now: datetime) -> list[str]:
    """The call list: of each party the case went to, those on duty `now` and then its
    roster's fallback list (without a roster: its whole staff), then the grid team, then
    the escalation ladder's people (the grid lead, the community's staff, the
    subdistrict office's)."""
    staff: list[str] = []
    for a in case.assignments:
        staff += _on_call(conn, case, a.party_id, now)
    staff += registry.grid_team(conn, case.compound, case.grid_id)
    lead = registry.grid_member(conn, case.compound, case.grid_id, "cadre")
    staff += [lead] if lead else []
    staff += _on_call(conn, case, registry.community_party(conn, case.compound), now)
    staff += _on_call(conn, case, registry.subdistrict_party(conn, case.compound), now)
    return list(dict.fromkeys(staff))


def _on_duty(conn: Conn, case: cases.Case, party: str | None, at: datetime) -> list[str]:
    on = registry.on_duty(conn, case.compound, party, case.grid_id, at)
    return registry.party_staff(conn, case.compound, party) if on is None else on


def _on_call(conn: Conn, case: cases.Case, party: str | None, at: datetime) -> list[str]:
    on = registry.on_call(conn, case.compound, party, case.grid_id, at)
    return registry.party_staff(conn, case.compound, party) if on is None else on


def _escalation_staff(conn: Conn, case: cases.Case, event: cases.CaseEvent) -> list[str]:
    # Who the workflow named in the escalation record (cases._workflow._notify): the
    # grid lead, or the community's or the subdistrict office's party.
    named = event.detail.get("notify") or {}
    if named.get("staff"):
        return [str(named["staff"])]
    return _on_duty(conn, case, named.get("party"), event.at)


def idempotency_key(case_event_id: int, recipient: str, channel: str | None, round: int = 0) -> str:
    """Stable for the same event, round, person and contact point: a receiver that sees
    it twice has the same message twice (deliveries are at least once)."""
    digest = hashlib.sha256(f"{recipient}\n{channel or ''}".encode()).hexdigest()[:24]
    return f"dayuan-{case_event_id}-{digest}" + (f"-r{round}" if round else "")


def plan_pending(conn: Conn, *, policy: NotifyPolicy, recipients: Recipients, now: datetime) -> int:
    """Plan up to PLAN_BATCH outbox rows (the caller holds a transaction); returns the
    notifications made. Rows another notifier is planning are skipped, not waited for."""
    rows = conn.execute(
        "SELECT case_event_id, case_id FROM notify_outbox WHERE planned_at IS NULL"
        " ORDER BY case_event_id LIMIT %s FOR UPDATE SKIP LOCKED",
        (PLAN_BATCH,),
    ).fetchall()
    made = 0
    for event_id, case_id in rows:
        case = cases.get_case(conn, case_id)
        event = cases.case_events(conn, case_id=case_id, after_id=event_id - 1, limit=1)[0]
        messages = []
        quiet: dict[str, datetime] = {}
        if policy.notifies(event.transition.value, case.category, case.severity):
            reached = recipients(conn, case, event)
            messages = messages_for(case, event, reached, zone=compound_zone(conn, case.compound))
            if not policy.breaks_quiet(case.category, case.severity):
                quiet = registry.quiet_until(conn, case.compound, [r.id for r in reached], now)
            if policy.repeats(event.transition.value, case.category):
                _start_repeats(conn, event, [r.id for r in reached], policy=policy, now=now)
            if policy.tells_family(event.transition.value, case.category):
                messages += family_messages(conn, case, event)
        insert(conn, messages, now, not_before=quiet)
        conn.execute(
            "UPDATE notify_outbox SET planned_at = %s, planned = %s WHERE case_event_id = %s",
            (now, len(messages), event_id),
        )
        made += len(messages)
    return made


def _start_repeats(
    conn: Conn, event: cases.CaseEvent, reached: list[str], *, policy: NotifyPolicy, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO notify_repeats (case_id, case_event_id, reached, next_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
        (event.case_id, event.id, reached, now + timedelta(seconds=policy.ack_repeat_s)),
    )


def messages_for(
    case: cases.Case,
    event: cases.CaseEvent,
    recipients: Sequence[Recipient],
    *,
    zone: tzinfo,
    round: int = 0,
    told: Sequence[str] = (),
) -> list[tuple[Message, str | None]]:
    """One message per recipient and contact point, its times read in `zone` (the
    compound's); a repeat (`round` > 0) says so and names who was `told` before."""
    out: list[tuple[Message, str | None]] = []
    for r in recipients:
        for channel in r.contacts or (None,):  # no contact point: a failed row says so
            out.append((_message(case, event, r, channel, round, told, zone), channel))
    return out


def compound_zone(conn: Conn, compound: str) -> ZoneInfo:
    """The compound's time zone, in which people read a message's times."""
    return ZoneInfo(registry.time_zone(conn, compound))


def local_time(at: datetime, zone: tzinfo) -> str:
    """`at` on the reader's wall clock, with the zone's abbreviation (CST: China Standard
    Time): what a responder compares with their phone's clock. The machine-readable
    document keeps ISO 8601 UTC."""
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _message(
    case: cases.Case,
    event: cases.CaseEvent,
    to: Recipient,
    channel: str | None,
    round: int,
    told: Sequence[str],
    zone: tzinfo,
) -> Message:
    recipient, lang = to.id, to.language
    key = idempotency_key(event.id, recipient, channel, round)
    severity = SEVERITY[lang][case.severity.value]
    what = CATEGORY[lang].get(case.category, case.title)
    place = case.flat or case.location or "-"
    subject = text(
        lang,
        "subject",
        again=text(lang, "again", round=round) if round else "",
        severity=severity,
        what=what,
        place=place,
        case=case.id,
        verb=text(lang, "escalated" if event.transition == "escalated" else "dispatched"),
    )
    lines = [
        text(lang, "line_case", case=case.id, title=case.title),
        text(lang, "line_kind", what=case.category, severity=severity),
        text(lang, "line_where", compound=case.compound, place=place, grid=case.grid_id or "-"),
        text(
            lang,
            "line_when",
            opened=local_time(case.opened_at, zone),
            ack_due=local_time(case.ack_due, zone),
        ),
        text(lang, "line_event", transition=event.transition.value, at=local_time(event.at, zone)),
        f"Idempotency-Key: {key}",
    ]
    if round:
        lines.insert(1, text(lang, "line_repeat", round=round, told=", ".join(told)))
    document: dict[str, Any] = {
        "idempotency_key": key,
        "case": {
            "id": case.id,
            "compound": case.compound,
            "category": case.category,
            "severity": case.severity.value,
            "title": case.title,
            "flat": case.flat,
            "grid": case.grid_id,
            "state": case.state.value,
            "opened_at": case.opened_at.isoformat(),
            "ack_due": case.ack_due.isoformat(),
        },
        "event": {"id": event.id, "transition": event.transition.value, "at": event.at.isoformat()},
        "recipient": recipient,
        "round": round,
        "language": lang.value,
    }
    return Message(key, subject, "\n".join(lines), case.id, event.id, recipient, document)


def family_messages(
    conn: Conn, case: cases.Case, event: cases.CaseEvent
) -> list[tuple[Message, str | None]]:
    """One message per emergency contact of the case's flat (consenting households only:
    the registry keeps no others): what happened, where and when, and that the
    responders were told. Nothing of the resident's health, nothing from the rule."""
    contacts = registry.emergency_contacts(conn, case.compound, case.flat)
    zone = compound_zone(conn, case.compound)
    when = event.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    out: list[tuple[Message, str | None]] = []
    for position, (name, url, lang) in enumerate(contacts):
        recipient = f"{FAMILY}{case.flat}:{position}"
        key = idempotency_key(event.id, recipient, url)
        what = FAMILY_WHAT[lang].get(case.category, FAMILY_WHAT[lang][""])
        facts = {"what": what, "flat": case.flat, "compound": case.compound, "when": when}
        subject = text(lang, "family_subject", **facts)
        lines = [
            text(lang, "family_dear", name=name),
            text(lang, "family_what", **facts),
            text(lang, "family_told"),
            text(lang, "family_ref", case=case.id),
            f"Idempotency-Key: {key}",
        ]
        document = {
            "idempotency_key": key,
            "case": {"id": case.id, "compound": case.compound, "flat": case.flat},
            "what": case.category,
            "at": event.at.isoformat(),
            "recipient": recipient,
            "language": lang.value,
        }
        message = Message(key, subject, "\n".join(lines), case.id, event.id, recipient, document)
        out.append((message, url))
    return out


def insert(
    conn: Conn,
    messages: Sequence[tuple[Message, str | None]],
    now: datetime,
    round: int = 0,
    *,
    not_before: Mapping[str, datetime] | None = None,
) -> None:
    """Queue the messages; a recipient in `not_before` (their quiet hours' end) is first
    tried then."""
    wait = not_before or {}
    if not messages:
        return
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO notifications (case_id, case_event_id, recipient, channel,"
            " idempotency_key, subject, body, document, state, last_error, next_attempt_at,"
            " created_at, round) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO NOTHING",
            [
                (
                    m.case_id,
                    m.case_event_id,
                    m.recipient,
                    channel,
                    m.idempotency_key,
                    m.subject,
                    m.body,
                    Jsonb(dict(m.document)),
                    "queued" if channel else "failed",
                    None if channel else "the recipient has no contact points",
                    max(now, wait.get(m.recipient, now)),
                    now,
                    round,
                )
                for m, channel in messages
            ],
        )
