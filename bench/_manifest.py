"""`dayuan manifest check FILE`: account for every message a simulator run sent.

Compares the manifest (`simulators` format dayuan.simulator-manifest/1) with what
landed: every expected seq of every device stored exactly once in the data tables,
nothing stored that was not sent, every malformed-on-purpose payload found in the
dead-letter table by its marker. Prints JSON; exits non-zero on any loss.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

import simulators
from dayuan.settings import Settings

_STORED = """
SELECT device_id, seq FROM telemetry WHERE device_id = ANY(%(devices)s) AND seq IS NOT NULL
UNION SELECT device_id, seq FROM events WHERE device_id = ANY(%(devices)s) AND seq >= 0
UNION SELECT device_id, seq FROM access_events WHERE device_id = ANY(%(devices)s) AND seq >= 0
"""
_MARKER = "SELECT count(*) FROM dead_letters WHERE position(%s::bytea IN payload) > 0"
# A face payload keeps none of its bytes in a dead letter (its marker with them): those are
# found by device, topic and reason instead.
_PRIVACY = (
    "SELECT coalesce(sum(refused), 0) FROM dead_letters"
    " WHERE device_id = %s AND topic = %s AND reason = 'privacy_violation'"
)


@dataclass(frozen=True, slots=True)
class ManifestAccount:
    devices: int
    expected: int
    stored: int
    lost: int
    unexpected: int
    malformed_sent: int
    malformed_dead_lettered: int
    lost_sample: list[tuple[str, int]]

    @property
    def complete(self) -> bool:
        return (
            self.lost == 0
            and self.unexpected == 0
            and self.malformed_sent == self.malformed_dead_lettered
        )


def account(conn: psycopg.Connection[Any], manifest: simulators.Manifest) -> ManifestAccount:
    stored: dict[str, set[int]] = defaultdict(set)
    for device, seq in conn.execute(_STORED, {"devices": list(manifest.devices)}):
        stored[str(device)].add(int(seq))
    expected = lost = unexpected = 0
    sample: list[tuple[str, int]] = []
    for device, record in manifest.devices.items():
        want = manifest.expected_data(device)
        sent = record.seq_set()
        low, high = (min(sent), max(sent)) if sent else (0, -1)
        mine = {s for s in stored[device] if low <= s <= high}  # this run's range only
        missing = want - mine
        expected += len(want)
        lost += len(missing)
        unexpected += len(mine - sent)
        sample += [(device, s) for s in sorted(missing)[:3]]
    malformed = [s for s in manifest.specials if s["expect"] == "dead_letter"]
    faces = Counter(
        (s["device"], s["topic"]) for s in malformed if s.get("variant") == "face_image"
    )
    found = sum(
        1
        for s in malformed
        if s.get("variant") != "face_image" and _dead_lettered(conn, s["marker"])
    )
    found += sum(min(n, _privacy_letters(conn, *key)) for key, n in faces.items())
    return ManifestAccount(
        devices=len(manifest.devices),
        expected=expected,
        stored=expected - lost,
        lost=lost,
        unexpected=unexpected,
        malformed_sent=len(malformed),
        malformed_dead_lettered=found,
        lost_sample=sample[:10],
    )


def _privacy_letters(conn: psycopg.Connection[Any], device: str, topic: str) -> int:
    row = conn.execute(_PRIVACY, (device, topic)).fetchone()
    return int(row[0]) if row else 0


def _dead_lettered(conn: psycopg.Connection[Any], marker: str) -> bool:
    row = conn.execute(_MARKER, (marker.encode(),)).fetchone()
    return bool(row and row[0])


def manifest_check(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None:
        raise RuntimeError("set DAYUAN_DATABASE_URL to the database the run landed in")
    manifest = simulators.read_manifest(args.file)
    with psycopg.connect(settings.database_url) as conn:
        result = account(conn, manifest)
    print(json.dumps({**asdict(result), "complete": result.complete}, indent=2))
    return 0 if result.complete else 1
