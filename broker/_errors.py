"""The broker package's exceptions.

BrokerError
├── InvalidEndpoint     an MQTT URL that cannot be used (also a ValueError: settings refuse it)
└── BrokerUnreachable   the broker did not accept a connection in time (endpoint, reason)
"""

from __future__ import annotations


class BrokerError(Exception):
    """Base of every error raised by `broker`."""


class InvalidEndpoint(BrokerError, ValueError):
    pass


class BrokerUnreachable(BrokerError, ConnectionError):
    def __init__(self, endpoint: str, reason: str) -> None:
        super().__init__(f"MQTT broker {endpoint}: {reason}")
        self.endpoint = endpoint
        self.reason = reason
