"""The HTTP edge every response crosses, as two pure ASGI middlewares: `SecurityHeaders`
(a Content-Security-Policy of same-origin only, no framing, no sniffing, no referrer,
and `Cache-Control: no-store` on the API, whose answers carry personal data) and
`BodyLimit` (a request body over its path's limit is refused with 413 before the app
reads it: by its Content-Length at once, a chunked one as soon as the count passes the
limit, and never echoed back)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "LOGIN_MAX_BODY_BYTES",
    "MAX_BODY_BYTES",
    "BodyLimit",
    "SecurityHeaders",
]

# The dashboard and the docs load only their own files: scripts and styles from this
# origin (none inline), data: images (Swagger UI's icons), fetches to this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
# The JSON API's largest honest body (a case action with its note, a resident's
# details) is a few KiB; 64 KiB leaves room and keeps a parse of it cheap.
MAX_BODY_BYTES = 64 * 1024
# The login form is a user name and a password.
LOGIN_MAX_BODY_BYTES = 4 * 1024
LOGIN_PATH = "/api/v1/auth/token"
# A resident's report carries up to three photos of at most 10 MiB each
# (residents.MAX_PHOTOS, residents.MAX_UPLOAD_BYTES) and its few form fields.
UPLOAD_PATH = "/api/v1/residents/me/reports"
UPLOAD_MAX_BODY_BYTES = 3 * 10 * 1024 * 1024 + 64 * 1024


class SecurityHeaders:
    """Adds the security headers to every HTTP response; `Cache-Control: no-store` to
    those under `no_store_prefix` (static files keep their validators and may be cached)."""

    def __init__(self, app: ASGIApp, *, no_store_prefix: str) -> None:
        self.app = app
        self.no_store_prefix = no_store_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = str(scope["path"]).startswith(self.no_store_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                drop = {name for name, _ in _HEADERS} | ({b"cache-control"} if no_store else set())
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in drop]
                headers += _HEADERS
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses a request body over `max_bytes` (`login_max_bytes` for the login form)
    with 413. A declared Content-Length is checked before anything is read; a chunked
    body is read here, counted, and handed on only when it fits."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        login_max_bytes: int = LOGIN_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.login_max_bytes = login_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = (
            self.login_max_bytes
            if path == LOGIN_PATH
            else UPLOAD_MAX_BODY_BYTES
            if path == UPLOAD_PATH
            else self.max_bytes
        )
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "the Content-Length header is not a number")
            elif int(length) > limit:
                await _refuse(send, 413, _too_large(limit))
            else:
                await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)  # no body
            return
        buffered = await _read_within(receive, limit)
        if buffered is None:
            await _refuse(send, 413, _too_large(limit))
            return
        await self.app(scope, _replay(buffered, receive), send)


async def _read_within(receive: Receive, limit: int) -> list[Message] | None:
    """The body's messages, or None as soon as they add up to more than `limit`."""
    messages: list[Message] = []
    total = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # the client went away: the app sees the disconnect
        total += len(message.get("body", b""))
        if total > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
