"""Sign-in by phone number and a one-time code, and the throttle against guessing.

A code is six random digits, kept only as an HMAC-SHA256 under the deployment key,
valid `CODE_TTL`, for one right use and at most `CODE_MAX_WRONG` wrong ones (then it is
void and a new one must be sent). Counted per window in `resident_throttle`: codes sent
per number (an SMS costs money and wakes a phone), codes tried per number, and both per
client address across numbers (one address spraying many numbers). A refusal by the
throttle counts nothing and says how long to wait.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from residents._db import Conn, one, transaction
from residents._errors import ReportRefused, SignInRefused, Throttled

CODE_DIGITS = 6
# Long enough to read an SMS and type it with one finger; short enough that a code
# seen over a shoulder is stale by the time anyone tries it.
CODE_TTL = timedelta(minutes=5)
# Wrong tries a code survives: 5 of 10**6 is a 1 in 200,000 chance per code sent.
CODE_MAX_WRONG = 5
# Codes sent per number per hour: a retry or two for a slow SMS, not a texting bomb.
SENDS_PER_NUMBER = 5
# Code checks per number per hour, across codes: bounds guessing to 20 in 10**6 an hour.
VERIFIES_PER_NUMBER = 20
# Sends and checks per client address per hour, across numbers: a compound's shared
# NAT (a care home's wifi) stays under it, a script walking numbers does not.
PER_CLIENT = 60
WINDOW = timedelta(hours=1)
# A resend within this of the last code is refused: a double tap sends one SMS.
RESEND_GAP = timedelta(seconds=30)

# Mainland mobile numbers (+86 1xx xxxx xxxx) and other E.164 numbers.
_PHONE = re.compile(r"^\+[1-9]\d{7,14}$")


@dataclass(frozen=True, slots=True)
class Phone:
    """A phone number in E.164, validated once (spaces and dashes dropped, a bare
    mainland mobile number given its +86)."""

    number: str

    @classmethod
    def parse(cls, text: str) -> Phone:
        cleaned = re.sub(r"[\s\-()]", "", text or "")
        if re.fullmatch(r"1[3-9]\d{9}", cleaned):
            cleaned = "+86" + cleaned
        if not _PHONE.match(cleaned):
            raise ReportRefused(
                "phone", "not a phone number: give it as +<country><number>, e.g. +8613800138000"
            )
        return cls(cleaned)


def _hash(key: bytes, phone: Phone, code: str) -> str:
    return hmac.new(key, f"{phone.number}:{code}".encode(), hashlib.sha256).hexdigest()


def _count(conn: Conn, kind: str, key: str, limit: int, now: datetime, what: str) -> None:
    """Count one attempt of `kind` for `key`, or raise `Throttled` counting nothing."""
    conn.execute(
        "INSERT INTO resident_throttle (kind, key, window_start) VALUES (%s, %s, %s)"
        " ON CONFLICT DO NOTHING",
        (kind, key, now),
    )
    row = one(
        conn,
        "SELECT window_start, count FROM resident_throttle WHERE kind = %s AND key = %s FOR UPDATE",
        (kind, key),
    )
    assert row is not None
    start, count = row["window_start"], int(row["count"])
    if start <= now - WINDOW:
        start, count = now, 0
    if count >= limit:
        wait = max(1, int((start + WINDOW - now).total_seconds()) + 1)
        raise Throttled(what, wait)
    conn.execute(
        "UPDATE resident_throttle SET window_start = %s, count = %s WHERE kind = %s AND key = %s",
        (start, count + 1, kind, key),
    )


def new_code(conn: Conn, *, key: bytes, phone: Phone, client: str, now: datetime) -> str:
    """A fresh code for `phone` (replacing any earlier one), counted against the limits;
    the caller sends it. Raises `Throttled`."""
    with transaction(conn):
        last = one(conn, "SELECT created_at FROM resident_codes WHERE phone = %s", (phone.number,))
        if last is not None and last["created_at"] > now - RESEND_GAP:
            wait = int((last["created_at"] + RESEND_GAP - now).total_seconds()) + 1
            raise Throttled("a code was sent to this number a moment ago", wait)
        _count(conn, "client", client, PER_CLIENT, now, "too many sign-ins from this address")
        _count(
            conn, "send", phone.number, SENDS_PER_NUMBER, now, "too many codes sent to this number"
        )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        conn.execute(
            "INSERT INTO resident_codes (phone, code_hash, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (phone) DO UPDATE SET"
            " code_hash = excluded.code_hash, created_at = excluded.created_at,"
            " expires_at = excluded.expires_at, wrong = 0",
            (phone.number, _hash(key, phone, code), now, now + CODE_TTL),
        )
    return code


def check_code(
    conn: Conn, *, key: bytes, phone: Phone, code: str, client: str, now: datetime
) -> None:
    """Accept the code once, or raise `SignInRefused` (`Throttled` when over a limit).
    A wrong code is counted on the code, the number and the client, in one transaction
    with the number's code row locked, so concurrent guesses cannot outrun the counts."""
    wrong = None
    with transaction(conn):
        _count(conn, "client", client, PER_CLIENT, now, "too many sign-ins from this address")
        _count(
            conn,
            "verify",
            phone.number,
            VERIFIES_PER_NUMBER,
            now,
            "too many wrong codes for this number",
        )
        row = one(
            conn,
            "SELECT code_hash, expires_at, wrong FROM resident_codes WHERE phone = %s FOR UPDATE",
            (phone.number,),
        )
        if row is None or row["expires_at"] <= now:
            wrong = "no code is waiting for this number (or it expired): ask for a new one"
        elif not hmac.compare_digest(row["code_hash"], _hash(key, phone, code.strip())):
            if int(row["wrong"]) + 1 >= CODE_MAX_WRONG:
                conn.execute("DELETE FROM resident_codes WHERE phone = %s", (phone.number,))
                wrong = "wrong code, and too many: this code is void, ask for a new one"
            else:
                conn.execute(
                    "UPDATE resident_codes SET wrong = wrong + 1 WHERE phone = %s",
                    (phone.number,),
                )
                wrong = "wrong code"
        else:
            conn.execute("DELETE FROM resident_codes WHERE phone = %s", (phone.number,))
            conn.execute(
                "DELETE FROM resident_throttle WHERE kind = 'verify' AND key = %s",
                (phone.number,),
            )
    if wrong is not None:
        raise SignInRefused(wrong)
