"""A rejected message on its way to the dead-letter table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain._reasons import Reason

# A dead letter keeps this much of the raw payload: enough to see what a device sent,
# bounded so that a flood of oversized garbage cannot fill the database.
DEAD_LETTER_PAYLOAD_BYTES = 4096


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    topic: str
    reason: Reason
    detail: str
    payload: bytes  # already cut to DEAD_LETTER_PAYLOAD_BYTES
    payload_size: int  # of the whole original payload
    device_id: str | None = None

    @classmethod
    def of(
        cls,
        *,
        received_at: datetime,
        topic: str,
        reason: Reason,
        detail: str,
        payload: bytes,
        device_id: str | None = None,
    ) -> DeadLetter:
        return cls(
            received_at=received_at,
            topic=topic[:1024],
            reason=reason,
            detail=detail[:2000],
            payload=payload[:DEAD_LETTER_PAYLOAD_BYTES],
            payload_size=len(payload),
            device_id=device_id,
        )
