"""The manifest: an account of everything a run sent, to check against what landed.

Format `dayuan.simulator-manifest/1`, JSON lines, one object per line with a `record`:

    {"record": "header", "format": "dayuan.simulator-manifest/1", "start": ..., "seed": ...,
     "mode": ..., "speed": ..., "rate": ..., "seq_start": ..., "compounds": [...], "devices": N}
    {"record": "special", "fault": F, "expect": E, "device": ..., "topic": ..., "at": ...,
     "seqs": [...], ...}                      one per unusual MQTT message, as it is sent
    {"record": "device", "device": ..., "compound": ..., "kind": ...,
     "seqs": [[first, last], ...],            every seq sent at least once, as ranges
     "channels": {"telemetry": n, "event": n, "status": n, "ack": n},   objects per channel
     "status_seqs": [...], "messages": n, "duplicates": n}    one per device, at the end
    {"record": "summary", "messages": ..., "objects": ..., "acknowledged": ...,
     "no_subscribers": ..., "resent": ..., "errors": ...,
     "wall_seconds": ..., "simulated_start": ..., "simulated_end": ...}

A device's seqs form one range (a seq is used only by a message really sent), so
`seqs` is usually `[[seq_start, last]]`; every seq in it should be stored exactly
once: telemetry (never with empty `values`, so each leaves at least one row) and
events in the data tables, `status_seqs` wherever the gateway keeps status (Dayuan's
ingest: as events of type "status"), except the seqs of specials whose `expect`
says otherwise. Acks of commands, and what a command made a device say, carry
seqs as everything else does and are accounted the same way (an ack lands in the
events table, channel `ack`). Malformed payloads and wills carry no seq. `expect` is one of:

    data            lands in the data tables (out_of_order, late_batch, backfill)
    duplicate       a second copy of a seq already sent: lands once, not twice
    dead_letter     malformed on purpose: lands in the dead-letter table, never in data;
                    `payload` holds it (UTF-8, or base64 when `encoding` says so) and
                    `marker` the unique text inside it
    gateway_policy  clock_skew: lands or is refused by the gateway's skew limit (`skew_s`);
                    a skew that is a multiple of the heartbeat makes ts coincide with the
                    device's later ones, and storage keyed by (device, ts) keeps only one
    status          a will (`{"online": false}`, ts of its connect, no seq) published by
                    the broker (realistic mode) or on the device's behalf (fleet mode)
"""

from __future__ import annotations

import base64
import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from domain import Channel, Kind
from simulators._device import Connect, Disconnect, Item, Publish

FORMAT = "dayuan.simulator-manifest/1"
EXPECT = {
    None: "data",
    "out_of_order": "data",
    "late_batch": "data",
    "backfill": "data",
    "duplicate": "duplicate",
    "malformed": "dead_letter",
    "clock_skew": "gateway_policy",
    "will": "status",
}


class SeqRanges:
    """A set of ints as sorted inclusive ranges; appending the next int is O(1)."""

    __slots__ = ("ends", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, seq: int) -> bool:
        """Add `seq`; False if it was already there."""
        if self.ends and seq == self.ends[-1] + 1:
            self.ends[-1] = seq
            return True
        if not self.ends or seq > self.ends[-1] + 1:
            self.starts.append(seq)
            self.ends.append(seq)
            return True
        return self._insert(seq)

    def _insert(self, seq: int) -> bool:
        i = bisect.bisect_right(self.starts, seq) - 1
        if i >= 0 and seq <= self.ends[i]:
            return False
        if i >= 0 and seq == self.ends[i] + 1:
            self.ends[i] = seq
        elif i + 1 < len(self.starts) and seq == self.starts[i + 1] - 1:
            self.starts[i + 1] = seq
        else:
            self.starts.insert(i + 1, seq)
            self.ends.insert(i + 1, seq)
            return True
        self._merge(max(i, 0))
        return True

    def _merge(self, i: int) -> None:
        if i + 1 < len(self.starts) and self.ends[i] + 1 >= self.starts[i + 1]:
            self.ends[i] = max(self.ends[i], self.ends[i + 1])
            del self.starts[i + 1], self.ends[i + 1]

    def ranges(self) -> list[list[int]]:
        return [[s, e] for s, e in zip(self.starts, self.ends, strict=True)]

    def __len__(self) -> int:
        return sum(e - s + 1 for s, e in zip(self.starts, self.ends, strict=True))


@dataclass
class _Ledger:
    compound: str
    kind: Kind
    seqs: SeqRanges = field(default_factory=SeqRanges)
    channels: dict[str, int] = field(default_factory=dict)
    status_seqs: list[int] = field(default_factory=list)
    messages: int = 0
    duplicates: int = 0


class ManifestWriter:
    """Writes the manifest as the run goes: specials at once, device records at `close`."""

    def __init__(self, path: Path, header: dict[str, Any], devices: dict[str, tuple[str, Kind]]):
        self._file: IO[bytes] = path.open("wb")
        self._ledgers = {d: _Ledger(c, k) for d, (c, k) in devices.items()}
        self._write({"record": "header", "format": FORMAT, **header})

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(orjson.dumps(record, default=str) + b"\n")

    def record(self, item: Item) -> None:
        if isinstance(item, Publish):
            self._publish(item)
        elif isinstance(item, Disconnect):
            self._special(item, "will", item.will_topic, item.will_payload, ())
        elif not isinstance(item, Connect):  # pragma: no cover - Item is closed
            raise TypeError(f"not a simulator item: {item!r}")

    def _publish(self, item: Publish) -> None:
        ledger = self._ledgers[item.device]
        ledger.messages += 1
        if item.fault == "duplicate":
            ledger.duplicates += len(item.seqs)
        else:
            for seq in item.seqs:
                ledger.seqs.add(seq)
            channel = item.channel.value
            ledger.channels[channel] = ledger.channels.get(channel, 0) + len(item.seqs)
            if item.channel is Channel.STATUS:
                ledger.status_seqs += item.seqs
        if item.fault is not None:
            self._special(item, item.fault, item.topic, item.payload, item.seqs, item.detail)

    def _special(
        self,
        item: Publish | Disconnect,
        fault: str,
        topic: str,
        payload: bytes,
        seqs: tuple[int, ...],
        detail: Any = None,
    ) -> None:
        record: dict[str, Any] = {
            "record": "special",
            "fault": fault,
            "expect": EXPECT.get(fault, "data"),
            "device": item.device,
            "topic": topic,
            "at": item.at.isoformat(),
            "seqs": list(seqs),
        }
        if detail:
            record.update(detail)
        if fault in ("malformed", "will"):
            record.update(_payload_fields(payload))
        self._write(record)

    def close(self, summary: dict[str, Any]) -> None:
        for device, ledger in self._ledgers.items():
            self._write(
                {
                    "record": "device",
                    "device": device,
                    "compound": ledger.compound,
                    "kind": ledger.kind.value,
                    "seqs": ledger.seqs.ranges(),
                    "channels": ledger.channels,
                    "status_seqs": ledger.status_seqs,
                    "messages": ledger.messages,
                    "duplicates": ledger.duplicates,
                }
            )
        self._write({"record": "summary", **summary})
        self._file.close()


def _payload_fields(payload: bytes) -> dict[str, str]:
    try:
        return {"payload": payload.decode("utf-8"), "encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"payload": base64.b64encode(payload).decode(), "encoding": "base64"}


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceRecord:
    device: str
    compound: str
    kind: str
    seqs: tuple[tuple[int, int], ...]
    channels: dict[str, int]
    status_seqs: tuple[int, ...]
    messages: int
    duplicates: int

    def seq_set(self) -> set[int]:
        return {s for first, last in self.seqs for s in range(first, last + 1)}


@dataclass(frozen=True)
class Manifest:
    header: dict[str, Any]
    devices: dict[str, DeviceRecord]
    specials: tuple[dict[str, Any], ...]
    summary: dict[str, Any] | None  # None: the run did not finish writing

    def expected_data(self, device: str) -> set[int]:
        """Seqs of `device`'s telemetry and events that must be stored: all of its seqs but
        the status messages and those a gateway may refuse for clock skew."""
        record = self.devices[device]
        seqs = record.seq_set() - set(record.status_seqs)
        for special in self.specials:
            if special["device"] == device and special["expect"] == "gateway_policy":
                seqs -= set(special["seqs"])
        return seqs


def read_manifest(path: Path) -> Manifest:
    header: dict[str, Any] = {}
    devices: dict[str, DeviceRecord] = {}
    specials: list[dict[str, Any]] = []
    summary: dict[str, Any] | None = None
    with path.open("rb") as lines:
        for line in lines:
            record = orjson.loads(line)
            kind = record.pop("record")
            if kind == "header":
                header = record
            elif kind == "special":
                specials.append(record)
            elif kind == "device":
                devices[record["device"]] = _device_record(record)
            elif kind == "summary":
                summary = record
    if header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} manifest")
    return Manifest(header, devices, tuple(specials), summary)


def _device_record(record: dict[str, Any]) -> DeviceRecord:
    return DeviceRecord(
        device=record["device"],
        compound=record["compound"],
        kind=record["kind"],
        seqs=tuple((int(a), int(b)) for a, b in record["seqs"]),
        channels=record["channels"],
        status_seqs=tuple(record["status_seqs"]),
        messages=record["messages"],
        duplicates=record["duplicates"],
    )
