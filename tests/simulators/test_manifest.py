"""The manifest accounts for every message: ranges per device, specials as they happen."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import domain
from simulators import ManifestWriter, SeqRanges, Simulation, parse_scenario, read_manifest


def test_seq_ranges_merge_in_any_order() -> None:
    ranges = SeqRanges()
    for seq in [0, 1, 2, 5, 4, 9, 3, 8, 7, 6, 12]:
        assert ranges.add(seq)
    assert not ranges.add(4)
    assert ranges.ranges() == [[0, 9], [12, 12]]
    assert len(ranges) == 11


def test_a_run_is_accounted_for(
    tmp_path: Path, small: domain.CompoundFile, midnight: datetime
) -> None:
    scenario = parse_scenario("""
schedule:
  - {at: '01:00', type: duplicate, device: G-E1, count: 2}
  - {at: '01:00', type: malformed, device: G-E1, variant: not_utf8}
  - {at: '01:10', type: late_batch, device: L-002, window: 20m, delay: 10m}
  - {at: '01:20', type: clock_skew, device: L-003, skew: 2h, duration: 10m}
""")
    simulation = Simulation(small, start=midnight, scenario=scenario, spontaneous=False)
    devices = {r.device.id: (r.compound, r.kind) for r in simulation.runtimes}
    path = tmp_path / "manifest.jsonl"
    writer = ManifestWriter(path, {"start": midnight.isoformat()}, devices)
    sent: dict[str, list[int]] = {}
    for item in [
        *simulation.run(midnight + timedelta(hours=2)),
        *simulation.finish(midnight + timedelta(hours=2)),
    ]:
        writer.record(item)
        for seq in getattr(item, "seqs", ()):
            sent.setdefault(item.device, []).append(seq)
    writer.close({"messages": 0})

    manifest = read_manifest(path)
    assert set(manifest.devices) == set(devices)
    for device, record in manifest.devices.items():
        assert record.seq_set() == set(sent[device])
        assert len(record.seqs) == 1  # one unbroken range
    gate = manifest.devices["C001-G-E1"]
    assert gate.duplicates == 2
    assert gate.status_seqs == (0,)
    faults = {(s["device"], s["fault"]): s for s in manifest.specials}
    bad = faults[("C001-G-E1", "malformed")]
    assert bad["expect"] == "dead_letter"
    assert bad["encoding"] == "base64"
    assert bad["marker"].encode() in base64.b64decode(bad["payload"])
    assert faults[("C001-L-002", "late_batch")]["expect"] == "data"
    skew = faults[("C001-L-003", "clock_skew")]
    assert skew["expect"] == "gateway_policy"
    assert skew["skew_s"] == 7200
    assert set(skew["seqs"]).isdisjoint(manifest.expected_data("C001-L-003"))
    assert sum(s["fault"] == "will" for s in manifest.specials) == len(devices)
    assert manifest.summary == {"messages": 0}


def test_a_file_that_is_not_a_manifest(tmp_path: Path) -> None:
    path = tmp_path / "other.jsonl"
    path.write_text('{"record": "header", "format": "something-else"}\n')
    with pytest.raises(ValueError, match=r"not a dayuan\.simulator-manifest/1"):
        read_manifest(path)
