"""Why a message was rejected: the machine-readable vocabulary of the dead-letter table."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"  # topic outside the v1 contract
    OVERSIZED = "oversized"  # payload over the size limit
    NOT_UTF8 = "not_utf8"  # payload bytes are not UTF-8
    MALFORMED_JSON = "malformed_json"  # not JSON at all
    SCHEMA_VIOLATION = "schema_violation"  # JSON, but not the schema of its kind and channel
    PRIVACY_VIOLATION = "privacy_violation"  # carries a face image or template
    UNKNOWN_DEVICE = "unknown_device"  # device id not in the registry
    TOPIC_MISMATCH = "topic_mismatch"  # device exists, but in another compound or of another kind
    CLOCK_SKEW = "clock_skew"  # ts too far in the future
    TOO_OLD = "too_old"  # ts older than the retention of its data class
    TOO_MANY_PARTITIONS = "too_many_partitions"  # a backfill spread over too many chunks
    WRONG_DIRECTION = "wrong_direction"  # a device published on the backend's `cmd` channel
    STORAGE_REJECTED = "storage_rejected"  # valid by contract, but the database refused the row
    SUPPRESSED = "suppressed"  # a count of a device's dead letters past its budget, not kept
