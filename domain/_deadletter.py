"""A rejected delivery on its way to the dead-letter table.

One delivery (one MQTT message) makes at most one dead letter, however many elements of
its array were refused: the row lists the first refused elements by index and reason and
counts the rest (issue 14: a row per element let one device write 100,000 rows from 100
messages). No dead letter ever keeps a face image or template: a payload that names a face
field keeps none of its bytes, only the field names and sizes in `detail`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain._payloads import FACE_KEYS
from domain._reasons import Reason

# A dead letter keeps this much of the raw payload, once per delivery: enough to see what a
# device sent, bounded so that a flood of oversized garbage cannot fill the database.
DEAD_LETTER_PAYLOAD_BYTES = 4096
# Refused elements listed by index and reason in one dead letter; the rest are counted.
# 20 shows the pattern of a bad backfill, and bounds the row whatever the array's size.
DEAD_LETTER_ELEMENTS_LISTED = 20
MAX_TOPIC_CHARS = 1024
MAX_DETAIL_CHARS = 2000
# A face key used as a JSON object key anywhere in the bytes (nested too, any case): the
# payload copy is withheld. Checked on the bytes so that no path (oversized, unknown
# device, malformed JSON) keeps a face value the schema never got to see.
_FACE_KEY = re.compile(
    rb'"(?:' + b"|".join(re.escape(k.encode()) for k in sorted(FACE_KEYS)) + rb')"\s*:',
    re.IGNORECASE,
)
# The kept prefix plus this much is scanned: a key cut by the prefix's end is still seen.
_SCAN_MARGIN = 64


@dataclass(frozen=True, slots=True)
class DeadLetter:
    received_at: datetime
    topic: str
    reason: Reason
    detail: str
    payload: bytes  # at most DEAD_LETTER_PAYLOAD_BYTES, empty when it named a face field
    payload_size: int  # of the whole original payload
    device_id: str | None = None
    # How many objects this row stands for: refused elements of an array, or (reason
    # `suppressed`) dead letters left out by the per-device budget. 1 for a whole payload.
    refused: int = 1
    # (index, reason) of the first refused elements of an array; empty for a whole payload.
    elements: tuple[tuple[int, str], ...] = ()

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
        refused: int = 1,
        elements: Sequence[tuple[int, str]] = (),
    ) -> DeadLetter:
        return cls(
            received_at=received_at,
            topic=topic[:MAX_TOPIC_CHARS],
            reason=reason,
            detail=detail[:MAX_DETAIL_CHARS],
            payload=safe_copy(payload, reason),
            payload_size=len(payload),
            device_id=device_id,
            refused=refused,
            elements=tuple(elements[:DEAD_LETTER_ELEMENTS_LISTED]),
        )


def safe_copy(payload: bytes, reason: Reason) -> bytes:
    """The part of `payload` a dead letter may keep: its first bytes, or nothing when it
    carries (or may carry) a face field."""
    if reason is Reason.PRIVACY_VIOLATION:
        return b""
    if _FACE_KEY.search(payload, 0, DEAD_LETTER_PAYLOAD_BYTES + _SCAN_MARGIN):
        return b""
    return payload[:DEAD_LETTER_PAYLOAD_BYTES]
