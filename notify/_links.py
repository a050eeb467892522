"""The acknowledgement link every notification carries: `<public URL>/a/<token>`.

The token is the notification's id and the link's expiry, signed (HMAC-SHA256, cut to
MAC_BYTES) with a key derived from the deployment's token secret; nothing is stored
for it. The notification row binds it to one staff member and one case (a row's
recipient and case never change), and the row's `answer` makes it single-use. The
expiry comes from the row's creation, so every attempt of one notification carries the
same link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from notify._errors import LinkRefused

# How long a link answers: a day covers a night shift's phone left in a locker; after
# that the case is long escalated and the page would only mislead.
LINK_TTL = timedelta(hours=24)
# 80 bits of MAC: forging one by trying is out of reach (each try is an HTTP request),
# and the link stays short enough for an SMS.
MAC_BYTES = 10
_PAYLOAD = struct.Struct(">QI")  # notification id, expiry (Unix seconds)
_CONTEXT = b"dayuan.notify.ack-link/1"  # the key is not the API tokens' key


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a genuine token says."""

    notification_id: int
    expires: datetime


@dataclass(frozen=True, slots=True)
class Links:
    """Makes and reads the links; `public_url` is where the API answers `/a/<token>`."""

    public_url: str
    secret: str
    ttl: timedelta = LINK_TTL

    def _key(self) -> bytes:
        return hmac.new(self.secret.encode(), _CONTEXT, hashlib.sha256).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key(), payload, hashlib.sha256).digest()[:MAC_BYTES]

    def token(self, notification_id: int, created_at: datetime) -> str:
        expires = int((created_at + self.ttl).timestamp())
        payload = _PAYLOAD.pack(notification_id, expires)
        return base64.urlsafe_b64encode(payload + self._mac(payload)).rstrip(b"=").decode()

    def url(self, notification_id: int, created_at: datetime) -> str:
        return f"{self.public_url.rstrip('/')}/a/{self.token(notification_id, created_at)}"

    def read(self, token: str, now: datetime) -> LinkClaim:
        """The claim of a genuine, unexpired token; `LinkRefused` says why not."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise LinkRefused("malformed", "this is not a Dayuan link") from None
        if len(raw) != _PAYLOAD.size + MAC_BYTES:
            raise LinkRefused("malformed", "this is not a Dayuan link")
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise LinkRefused("forged", "the link's signature is wrong")
        notification_id, expires = _PAYLOAD.unpack(payload)
        claim = LinkClaim(notification_id, datetime.fromtimestamp(expires, UTC))
        if now >= claim.expires:
            raise LinkRefused("expired", f"the link expired at {claim.expires.isoformat()}")
        return claim
