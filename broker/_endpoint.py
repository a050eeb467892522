"""Where a broker is and how to talk to it, as one frozen value parsed once from
DAYUAN_MQTT_URL (by the settings) and handed to every MQTT client of the backend."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from broker._errors import InvalidEndpoint

Protocol = Literal[4, 5]  # 4 is MQTT 3.1.1, for brokers without MQTT 5
_PLAIN = ("mqtt", "tcp")
_TLS = ("mqtts", "ssl")


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    tls: bool = False  # verified against `tls_ca`, or the system's CAs without one
    tls_ca: str | None = None
    protocol: Protocol = 5

    @classmethod
    def parse(
        cls,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        protocol: Protocol = 5,
        tls_ca: str | None = None,
    ) -> MqttEndpoint:
        """mqtt[s]://[user[:password]@]host[:port]. Credentials in the URL win over
        `username`/`password` (the backend's account, usually); TLS is the scheme's
        choice, and a CA file with a plain scheme is refused rather than ignored."""
        parts = urlsplit(url)
        if parts.scheme not in _PLAIN + _TLS:
            raise InvalidEndpoint(f"an MQTT URL starts with mqtt:// or mqtts://, not {url!r}")
        tls = parts.scheme in _TLS
        if tls_ca is not None and not tls:
            raise InvalidEndpoint(
                "a TLS CA file is set but the MQTT URL is not mqtts://: TLS is chosen by the"
                " URL's scheme"
            )
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise InvalidEndpoint(f"the MQTT URL {url!r} has a bad port") from exc
        own = unquote(parts.username) if parts.username else None
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            username=own or username,
            password=(unquote(parts.password) if parts.password else None) if own else password,
            tls=tls,
            tls_ca=tls_ca,
            protocol=protocol,
        )

    def as_user(self, username: str | None, password: str | None) -> MqttEndpoint:
        """The same broker under another account (a device's, in the simulators)."""
        return dataclasses.replace(self, username=username, password=password)

    def __str__(self) -> str:  # for logs: never the password
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"
