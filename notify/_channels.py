"""Delivery through a contact URL: Apprise for the channels it has (its URL syntax is
the configuration), and the two this product adds: a signed webhook and SMS through
a Kannel gateway.

- `hmac+https://host/path?secret=S` (or `hmac+http://`): POSTs the message's JSON
  document with `X-Dayuan-Timestamp: <unix seconds>` and `X-Dayuan-Signature:
  sha256=<hex HMAC-SHA256 of timestamp + "." + body>`, keyed with `secret` (taken off
  the URL, never sent) or the deployment's webhook secret.
- `kannel://user:pass@host:port/<to>?from=F` (`kannels://` for TLS): Kannel's HTTP
  `sendsms` interface, `GET /cgi-bin/sendsms?username=&password=&to=&from=&text=`;
  `to` may also be a query parameter.

Every delivery carries the idempotency key: in the text, and as a header
(`Idempotency-Key` on our webhooks, `X-Dayuan-Idempotency-Key` where an Apprise
channel takes headers: json, form, xml, email). Channels raise `DeliveryFailed`,
`permanent` when a retry cannot help (a URL no channel understands, a 4xx).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import apprise
import orjson

from notify._errors import DeliveryFailed
from notify._model import Message, public_channel

# A channel that has not answered by then is treated as down (the attempt is retried);
# well under the claim's lease, so a slow channel never lets a second notifier in.
CHANNEL_TIMEOUT_S = 10.0
# An SMS part holds 160 GSM characters or 70 UCS-2 ones (Chinese text; 153 and 67 per
# part once concatenated): the SMS says what and where (the subject) and carries the
# link, and this cap keeps it to three parts at most whatever the subject.
SMS_MAX_CHARS = 201
# GSM 03.38's alphabet (basic table, then the escaped extension Kannel converts too): a
# text of these goes as 7-bit GSM, anything else (Chinese) as UCS-2 (`coding=2`), which
# Kannel would otherwise send as one '?' per character.
GSM_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    "^{}\\[~]|€"
)
IDEMPOTENCY_HEADER = "X-Dayuan-Idempotency-Key"
SIGNED_SCHEMES = {"hmac+https": "https", "hmac+http": "http"}
KANNEL_SCHEMES = {"kannel": "http", "kannels": "https"}
# HTTP statuses worth retrying among the 4xx: timeout and rate limited.
RETRIED_4XX = frozenset({408, 425, 429})


class Deliver(Protocol):
    def __call__(self, url: str, message: Message) -> None: ...


class Channels:
    """Delivers a message to a contact URL (the notifier's `Deliver`)."""

    def __init__(self, *, webhook_secret: str | None = None) -> None:
        self._webhook_secret = webhook_secret

    def __call__(self, url: str, message: Message) -> None:
        scheme = url.split("://", 1)[0].lower()
        if scheme in SIGNED_SCHEMES:
            signed_webhook(url, message, default_secret=self._webhook_secret)
        elif scheme in KANNEL_SCHEMES:
            kannel_sms(url, message)
        else:
            through_apprise(url, message)


def through_apprise(url: str, message: Message) -> None:
    channel = public_channel(url) or "?"
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryFailed(channel, "Apprise does not understand this URL", permanent=True)
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers[IDEMPOTENCY_HEADER] = message.idempotency_key
    plugin.socket_connect_timeout = plugin.socket_read_timeout = CHANNEL_TIMEOUT_S
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        ok = plugin.notify(title=message.subject, body=message.body)
    if not ok:
        lines = [x for x in captured.getvalue().splitlines() if x.strip()]
        raise DeliveryFailed(channel, (lines[-1] if lines else "the channel refused")[:500])


def signed_webhook(url: str, message: Message, *, default_secret: str | None) -> None:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    given = query.pop("secret", None)
    secret = given[0] if given else default_secret
    channel = public_channel(url) or "?"
    if not secret:
        raise DeliveryFailed(
            channel, "no secret: add ?secret= or set the webhook secret", permanent=True
        )
    target = urlunsplit(
        (
            SIGNED_SCHEMES[parts.scheme],
            parts.netloc,
            parts.path or "/",
            urlencode(query, doseq=True),
            "",
        )
    )
    body = orjson.dumps({**message.document, "subject": message.subject, "text": message.body})
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": message.idempotency_key,
        "X-Dayuan-Timestamp": timestamp,
        "X-Dayuan-Signature": "sha256=" + signature(secret, timestamp, body),
    }
    _http(channel, target, method="POST", data=body, headers=headers)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a receiver recomputes: key the secret, message
    `timestamp + "." + body`."""
    signed = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def kannel_sms(url: str, message: Message) -> None:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    to = query.pop("to", None) or parts.path.strip("/")
    channel = public_channel(url) or "?"
    if not to:
        raise DeliveryFailed(channel, "no recipient number (path or ?to=)", permanent=True)
    text = sms_text(message)
    params = {
        "username": parts.username or "",
        "password": parts.password or "",
        "to": to,
        "text": text,
        "charset": "UTF-8",  # how the text parameter is encoded (urlencode's UTF-8)
        **({} if set(text) <= GSM_CHARS else {"coding": "2"}),
        **query,  # from, smsc, charset, dlr-mask ... passed through to Kannel
    }
    netloc = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    query_string = urlencode(params, quote_via=quote)
    target = f"{KANNEL_SCHEMES[parts.scheme]}://{netloc}/cgi-bin/sendsms?{query_string}"
    _http(channel, target, method="GET")


def sms_text(message: Message) -> str:
    """What an SMS carries: the subject (what, where, the case) and the acknowledgement
    link, kept whole; the body's details are for the channels that have room."""
    link = message.document.get("ack_url")
    if not isinstance(link, str):
        return message.subject[:SMS_MAX_CHARS]
    # A space, not a line break, before the link: phones find it either way, and
    # line-based SMSC links (Kannel's fake SMSC among them) cut a message at a newline.
    return f"{message.subject[: SMS_MAX_CHARS - len(link) - 1]} {link}"


def _http(
    channel: str,
    url: str,
    *,
    method: str,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    if urlsplit(url).scheme not in ("http", "https"):  # never file: or the like
        raise DeliveryFailed(channel, "not an http(s) target", permanent=True)
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=CHANNEL_TIMEOUT_S) as reply:  # noqa: S310
            reply.read()
    except urllib.error.HTTPError as exc:
        exc.close()  # the error is also the response: let its socket go
        permanent = 400 <= exc.code < 500 and exc.code not in RETRIED_4XX
        raise DeliveryFailed(channel, f"HTTP {exc.code} {exc.reason}", permanent=permanent) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(channel, f"unreachable: {reason}") from exc


def contact_problem(url: str) -> str | None:
    """Why a contact URL cannot be delivered to (None: a channel understands it), checked
    without sending anything: for the API to refuse a contact point before it is stored."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme in SIGNED_SCHEMES or parts.scheme in KANNEL_SCHEMES:
        if not host:
            return "no host"
        if parts.scheme in KANNEL_SCHEMES and not (parts.path.strip("/") or "to=" in parts.query):
            return "no recipient number (path or ?to=)"
        return None
    with apprise.LogCapture(level=logging.WARNING):  # type: ignore[no-untyped-call]
        plugin = apprise.Apprise.instantiate(url)
    return "Apprise does not understand this URL" if plugin is None else None
