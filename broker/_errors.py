"""The broker package's exceptions.

BrokerError
├── InvalidEndpoint     an MQTT URL that cannot be used (also a ValueError: settings refuse it)
├── BrokerUnreachable   the broker did not accept a connection in time (endpoint, reason)
└── AccountRefused      the dynamic-security plugin refused an account change (command, reason)
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


class AccountRefused(BrokerError):
    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"the broker refused {command}: {reason}")
        self.command = command
        self.reason = reason
