"""Announcements: notices staff publish to a compound, some of its buildings or
households, optionally only the households with a seven-colour tag (e.g. elderly
households), for a time window. It owns their tables (`announce/migrations`): the
notices, one read receipt per household (counted and shown to staff), and one delivery
per targeted household and emergency contact, sent through notify's channels when the
window opens (`run_once`, which the API's lifespan calls every POLL_S), and to the
households' confirmed residents through their own channel (`ResidentChannel`, which
the API fills from `residents`), each person once. The audience is
resolved through the registry's public reads each time it is needed; `read_by` tells
which of a household's announcements it has read (a resident's page marks the rest)."""

from announce._channel import MIN_NUMBER_DIGITS, ResidentChannel, ResidentContact, same_number
from announce._deliver import BATCH, MAX_ATTEMPTS, POLL_S, Round, plan, run_once, send
from announce._errors import (
    AnnounceError,
    AnnouncementNotFound,
    AnnounceStoreError,
    InvalidAnnouncement,
)
from announce._model import MAX_BODY, MAX_TARGETS, MAX_TITLE, MAX_WINDOW, Announcement, Draft
from announce._store import (
    audience,
    for_household,
    get,
    listed,
    publish,
    read_by,
    record_read,
    withdraw,
)

__all__ = [
    "BATCH",
    "MAX_ATTEMPTS",
    "MAX_BODY",
    "MAX_TARGETS",
    "MAX_TITLE",
    "MAX_WINDOW",
    "MIN_NUMBER_DIGITS",
    "POLL_S",
    "AnnounceError",
    "AnnounceStoreError",
    "Announcement",
    "AnnouncementNotFound",
    "Draft",
    "InvalidAnnouncement",
    "ResidentChannel",
    "ResidentContact",
    "Round",
    "audience",
    "for_household",
    "get",
    "listed",
    "plan",
    "publish",
    "read_by",
    "record_read",
    "run_once",
    "same_number",
    "send",
    "withdraw",
]
