"""Keyset cursors of the list routes: an opaque, signed token naming the last row a page
gave (its unique sort key), so that the next page starts right after it however many
rows came or went in between. A cursor only positions: the route applies the caller's
scope and filters as always, so a cursor cannot show what the caller may not see.

A token is `<base64url JSON [list, key...]>.<base64url HMAC-SHA256, 16 bytes>`, signed
with a key derived from the API's token signing key: a cursor changed by hand, taken
from another list, or signed by another deployment is refused (422) instead of
positioning somewhere unexpected. `offset` stays for small pages; the cursor is for
walking a long list, where `offset` costs the rows it skips."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from fastapi import HTTPException, status

T = TypeVar("T")
KeyPart = int | str | datetime
Key = tuple[KeyPart, ...]

# Each list's sort key, part by part: what a decoded cursor must hold.
KINDS: dict[str, tuple[type, ...]] = {
    "cases": (int,),
    "alarms": (int,),
    "audit": (int,),
    "devices": (str,),
    "households": (str, str),
    "residents": (str, str, str),
    "events": (datetime, str, str, int),
    "access_events": (datetime, str, str, int),
}
# A full HMAC-SHA256 is 32 bytes; 16 keep forging out of reach and the token short.
MAC_BYTES = 16
_CONTEXT = b"dayuan list cursor v1"
REFUSED = (
    "the cursor is not one this list gave (changed, from another list or another server):"
    " start again from the first page without it"
)


def _mac(secret: str, payload: bytes) -> bytes:
    key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: str, kind: str, key: Key) -> str:
    parts = [p.isoformat() if isinstance(p, datetime) else p for p in key]
    payload = json.dumps([kind, *parts], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def decode(secret: str, kind: str, token: str | None) -> Key | None:
    """The key a cursor of list `kind` names (None without one); 422 with the reason for
    a token this API did not give for that list."""
    if token is None:
        return None
    try:
        body, mac = token.split(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(mac), _mac(secret, payload)):
            raise ValueError("bad signature")
        name, *parts = json.loads(payload)
        if name != kind:
            raise ValueError("another list")
        return _typed(KINDS[kind], parts)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, REFUSED) from exc


def decode_id(secret: str, kind: str, token: str | None) -> int | None:
    """The id a cursor of a list ordered by id names (None without one)."""
    key = decode(secret, kind, token)
    if key is None:
        return None
    (found,) = key
    assert isinstance(found, int)  # `KINDS` says so, and `decode` checked it
    return found


def _typed(types: tuple[type, ...], parts: list[Any]) -> Key:
    if len(parts) != len(types):
        raise ValueError("wrong length")
    key: list[KeyPart] = []
    for kind, part in zip(types, parts, strict=True):
        if kind is datetime:
            key.append(datetime.fromisoformat(part))
        elif isinstance(part, int | str) and isinstance(part, kind) and not isinstance(part, bool):
            key.append(part)
        else:
            raise ValueError("wrong type")
    return tuple(key)


def page(
    secret: str, kind: str, rows: Sequence[T], limit: int, key_of: Callable[[T], Key]
) -> tuple[list[T], str | None]:
    """The page of `rows` read with one row more than `limit`, and the cursor of the next
    page (None when this one is the last)."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode(secret, kind, key_of(kept[-1]))
