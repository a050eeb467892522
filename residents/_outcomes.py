"""Reaching residents: the sign-in code and the outcome of their report, through
notify's channels, and the photos' retention.

`ChannelSender` fills a contact URL template with the resident's number (`{phone}`:
E.164, `{digits}`: without the +) and delivers through `notify.Channels` (Kannel SMS,
Apprise's email and others), or writes the text to the log (`log://`, development
only). `deliver_outcomes` sends each resolution of a resident's case, written to
`resident_outcomes` by a trigger in the resolution's transaction, at least once.
`purge_photos` deletes the photos whose retention ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import quote

import notify
from domain import Language
from residents._db import Conn, rows, transaction
from residents._words import outcome_text

log = logging.getLogger(__name__)

# Rows a round sends: a district's resolutions per minute, with room.
OUTCOMES_PER_ROUND = 50
# A resident's channel that failed this often is left to the staff (last_error says why).
OUTCOME_MAX_ATTEMPTS = 5
LOG_SCHEME = "log://"


class Sender(Protocol):
    def __call__(self, phone: str, subject: str, text: str, *, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelSender:
    """Sends to `template` with the number filled in; raises `notify.DeliveryFailed`."""

    template: str
    channels: notify.Deliver

    def __call__(self, phone: str, subject: str, text: str, *, key: str) -> None:
        if self.template.startswith(LOG_SCHEME):
            log.warning("resident message to %s: %s %s", phone, subject, text)
            return
        url = self.template.format(phone=quote(phone, safe=""), digits=phone.lstrip("+"))
        message = notify.Message(
            idempotency_key=key,
            subject=subject,
            body=text,
            case_id=0,
            case_event_id=0,
            recipient=phone,
        )
        self.channels(url, message)


def deliver_outcomes(conn: Conn, send: Sender, now: datetime) -> int:
    """Send the outcomes not yet sent; the number sent. A failure is recorded and tried
    again next round (several API processes share the table: rows are claimed)."""
    sent = 0
    with transaction(conn):
        due = rows(
            conn,
            "SELECT o.case_event_id, o.case_id, o.outcome, a.phone, a.language"
            " FROM resident_outcomes o JOIN resident_accounts a ON a.id = o.resident_id"
            " WHERE o.sent_at IS NULL AND o.attempts < %s ORDER BY o.created_at"
            " LIMIT %s FOR UPDATE OF o SKIP LOCKED",
            (OUTCOME_MAX_ATTEMPTS, OUTCOMES_PER_ROUND),
        )
        for r in due:
            subject, text = outcome_text(int(r["case_id"]), r["outcome"], Language(r["language"]))
            try:
                send(r["phone"], subject, text, key=f"outcome-{r['case_event_id']}")
            except notify.DeliveryFailed as exc:
                conn.execute(
                    "UPDATE resident_outcomes SET attempts = attempts + 1, last_error = %s"
                    " WHERE case_event_id = %s",
                    (str(exc)[:500], r["case_event_id"]),
                )
                continue
            conn.execute(
                "UPDATE resident_outcomes SET attempts = attempts + 1, sent_at = %s,"
                " last_error = NULL WHERE case_event_id = %s",
                (now, r["case_event_id"]),
            )
            sent += 1
    return sent


def purge_photos(conn: Conn, now: datetime) -> int:
    """Delete the photos past their retention (`case_photo`: 180 days after the case
    ended); the number deleted."""
    with transaction(conn):
        cur = conn.execute(
            "DELETE FROM case_photos WHERE purge_after IS NOT NULL AND purge_after <= %s", (now,)
        )
        return cur.rowcount
