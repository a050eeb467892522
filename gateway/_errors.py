"""The exception tree of the gateway.

GatewayError
├── SinkUnavailable     storage cannot take a batch now (down, slow, failing over): retry it
└── SinkRejected        storage refused the batch's content: isolate the bad message
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error raised by `gateway`."""


class SinkUnavailable(GatewayError):
    """Transient: the same batch may succeed later. The gateway backs off and retries."""


class SinkRejected(GatewayError):
    """Permanent for this content: retrying the same batch cannot help."""
