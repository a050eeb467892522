"""Confirmed residents' own channel, as announce sees it: who they are per household
(`ResidentContact`) and how to reach them (`ResidentChannel`). The API fills it from
`residents` (a layer above announce, which must not import it); announce decides who
is written to, once each: a resident whose number is already one of the household's
emergency contacts gets the notice through that contact only (`same_number`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from announce._db import Conn
from domain import Language

# The shortest digit run of a contact URL taken for a phone number: a national
# subscriber number has 8 or more digits, while ports and ids in URLs are shorter.
MIN_NUMBER_DIGITS = 8
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class ResidentContact:
    """A confirmed resident of a household."""

    resident: int  # their account id (> 0)
    phone: str  # E.164, "+8613800000001"
    language: Language


class ResidentChannel(Protocol):
    """Confirmed residents of a household and their own channel (the one their sign-in
    code comes through); `send` raises `notify.DeliveryFailed` as notify's channels do."""

    def residents(self, conn: Conn, compound: str, flat: str) -> Sequence[ResidentContact]: ...

    def send(self, contact: ResidentContact, subject: str, text: str, *, key: str) -> None: ...


def same_number(phone: str, urls: Iterable[str]) -> bool:
    """Whether one of the contact URLs names this number, with or without its country
    code ("+8613800000001" is in "mailto://...?to=13800000001@sms.example.org")."""
    digits = phone.lstrip("+")
    for url in urls:
        for run in _DIGITS.findall(url):
            short, long_ = sorted((run, digits), key=len)
            if len(short) >= MIN_NUMBER_DIGITS and long_.endswith(short):
                return True
    return False
