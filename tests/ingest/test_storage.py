"""Storage against a real PostgreSQL: migrations, registry, partitions, retention,
rollups, presence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

import ingest
import registry
from dayuan.wiring import SCHEMA
from domain import Compound, CompoundFile, Device, Kind, Message, Status, Topic, decode
from tests.factories import COMPOUND, LIGHT, SOS, TEST_REGISTRY, WEARABLE

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_upgrade_is_idempotent_and_keeps_its_mode(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        applied = "SELECT package, version, mode FROM schema_versions ORDER BY version, package"
        before = conn.execute(applied).fetchall()
        assert (
            ingest.upgrade(conn, packages=SCHEMA, requested="auto") is ingest.StorageMode.POSTGRES
        )
        after = conn.execute(applied).fetchall()
        assert before == after
        expected = ingest.migrations(ingest.StorageMode.POSTGRES, SCHEMA)
        assert sorted((p, v) for p, v, _ in after) == sorted(
            (m.package, m.version) for m in expected
        )
        assert {p for p, _, _ in after} == set(SCHEMA)  # every owner keeps its own migrations
        with pytest.raises(ingest.StorageModeError, match="created in postgres mode"):
            ingest.upgrade(conn, packages=SCHEMA, requested="timescaledb")


def test_registry_load_upserts_and_removes_devices_no_longer_listed(
    conn: psycopg.Connection[Any],
) -> None:
    compound = TEST_REGISTRY.compounds[0]
    smaller = compound.model_copy(
        update={
            "devices": [
                d.model_copy(update={"heartbeat_s": 120}) if d.id == LIGHT else d
                for d in compound.devices
                if d.id != SOS
            ]
        }
    )
    result = registry.load(
        conn, CompoundFile(compounds=[smaller]), actor="test", now=datetime.now(UTC)
    )
    assert result.removed == 1
    refs = registry.device_refs(conn)
    assert SOS not in refs
    assert refs[LIGHT] == registry.DeviceRef(COMPOUND, Kind.LIGHT, 120)


def test_a_bad_compound_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("compounds:\n  - id: c1\n    name: X\n    lat: 300\n    lon: 1\n")
    with pytest.raises(registry.CompoundFileError, match=r"(?s)c\.yaml.*lat"):
        registry.read_compound_file(path)
    path.write_text("compounds: [")
    with pytest.raises(registry.CompoundFileError, match="not valid"):
        registry.read_compound_file(path)


def _write(db_url: str, messages: list[Message]) -> ingest.WriteResult:
    from dayuan import wiring

    with wiring.pool(db_url) as pool, pool.connection() as conn:
        classes = ingest.data_classes(conn)
        mode = ingest.current_mode(conn)
    with wiring.pool(db_url) as pool:
        writer = ingest.Writer(pool, mode=mode, classes=classes)
        writer.write(messages, [])
        assert writer.last_result is not None
        return writer.last_result


def _telemetry(device: str, ts: datetime, **values: float) -> Message:
    topic = Topic.parse(f"dayuan/v1/{COMPOUND}/light/{device}/telemetry")
    body = decode(
        topic, f'{{"ts": "{ts.isoformat()}", "values": {values!s}}}'.replace("'", '"').encode()
    )[0]
    return Message(topic, body, ts)  # type: ignore[arg-type]


def test_partitions_are_created_on_demand_and_dropped_past_retention(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    old, recent = NOW - timedelta(days=500), NOW - timedelta(days=1)
    result = _write(db_url, [_telemetry(LIGHT, old, lux=1), _telemetry(LIGHT, recent, lux=2)])
    assert result.telemetry_rows == 2
    parts = {
        r[0]
        for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'telemetry'::regclass"
        )
    }
    assert parts == {f"telemetry_p{old:%Y%m%d}0000", f"telemetry_p{recent:%Y%m%d}0000"}
    done = ingest.maintain(conn, mode=ingest.StorageMode.POSTGRES, now=NOW)
    assert done.dropped_partitions == [f"telemetry_p{old:%Y%m%d}0000"]
    assert conn.execute("SELECT count(*) FROM telemetry").fetchone() == (1,)


def test_rollups_follow_late_data(db_url: str, conn: psycopg.Connection[Any]) -> None:
    hour = NOW.replace(minute=0) - timedelta(hours=3)
    _write(
        db_url,
        [_telemetry(LIGHT, hour + timedelta(minutes=m), power_w=float(m)) for m in (0, 10, 20)],
    )
    ingest.refresh_rollups(conn)
    first = conn.execute(
        "SELECT samples, avg, min, max FROM telemetry_hourly WHERE key = 'power_w' AND bucket = %s",
        (hour,),
    ).fetchone()
    assert first == (3, 10.0, 0.0, 20.0)
    _write(db_url, [_telemetry(LIGHT, hour + timedelta(minutes=50), power_w=50.0)])  # late
    assert ingest.refresh_rollups(conn) == 1
    second = conn.execute(
        "SELECT samples, avg, max FROM telemetry_hourly WHERE key = 'power_w' AND bucket = %s",
        (hour,),
    ).fetchone()
    assert second == (4, 20.0, 50.0)
    assert ingest.refresh_rollups(conn) == 0  # nothing dirty: nothing recomputed


def _status(device: str, kind: str, ts: datetime, online: bool, received: datetime) -> Message:
    topic = Topic(
        COMPOUND,
        Kind(kind),
        device,
        Topic.parse(f"dayuan/v1/{COMPOUND}/{kind}/{device}/status").channel,
    )
    return Message(topic, Status(ts=ts, online=online), received)


def test_presence_from_silence_and_from_will_messages(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    heard = NOW - timedelta(minutes=2)
    will = _status(SOS, "elder", heard - timedelta(hours=1), False, NOW - timedelta(minutes=1))
    data = _telemetry(LIGHT, heard, lux=1)
    wearable = Message(
        Topic.parse(f"dayuan/v1/{COMPOUND}/elder/{WEARABLE}/telemetry"),
        decode(
            Topic.parse(f"dayuan/v1/{COMPOUND}/elder/{WEARABLE}/telemetry"),
            b'{"ts": 1795240923000, "values": {}}',
        )[0],  # type: ignore[arg-type]
        NOW - timedelta(minutes=4),
    )
    _write(db_url, [_status(SOS, "elder", heard, True, heard), will, data, wearable])
    online = {p.device_id: p.online for p in ingest.presence(conn, now=NOW, silence_factor=3)}
    assert online[LIGHT] is True  # heard 2 min ago, heartbeat 300 s
    assert online[SOS] is False  # its will arrived after its last data
    assert online[WEARABLE] is False  # 4 min of silence > 3 x 60 s
    assert online["gate-1"] is False  # never heard
    later = {
        p.device_id: p.online
        for p in ingest.presence(conn, now=NOW + timedelta(minutes=20), silence_factor=3)
    }
    assert later[LIGHT] is False


def test_a_tiny_registry_round_trips_through_yaml(tmp_path: Path) -> None:
    import yaml

    compounds = CompoundFile(
        compounds=[
            Compound(
                id="x",
                name="X",
                lat=1,
                lon=2,
                devices=[Device(id="d", kind=Kind.GATE, model="face_gate")],
            )
        ]
    )
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(compounds.model_dump(mode="json")))
    assert registry.read_compound_file(path) == compounds


def test_one_bad_step_leaves_retention_running_and_no_value_overflows_a_rollup(
    db_url: str, conn: psycopg.Connection[Any]
) -> None:
    hour = NOW.replace(minute=0) - timedelta(hours=3)
    old = NOW - timedelta(days=500)
    _write(
        db_url,
        [
            _telemetry(LIGHT, hour, power_w=1.0),
            _telemetry(LIGHT, hour + timedelta(minutes=5), power_w=2.0),
            _telemetry(LIGHT, old, lux=1),
        ],
    )
    # Legacy rows from before the contract bounded values: their double sum overflows.
    conn.execute("UPDATE telemetry SET value = 1.7e308 WHERE key = 'power_w'")
    conn.execute("INSERT INTO rollup_dirty (bucket) VALUES (%s) ON CONFLICT DO NOTHING", (hour,))
    conn.commit()
    assert ingest.refresh_rollups(conn) >= 1
    row = conn.execute(
        "SELECT samples, avg FROM telemetry_hourly WHERE key = 'power_w' AND bucket = %s", (hour,)
    ).fetchone()
    assert row == (2, 1.7e308)

    # A rollup step that fails (here: the rollup table refuses every row) is named, and
    # partition retention still runs after it.
    conn.execute(
        "ALTER TABLE telemetry_hourly ADD CONSTRAINT refuse_all CHECK (samples < 0) NOT VALID"
    )
    conn.execute("INSERT INTO rollup_dirty (bucket) VALUES (%s) ON CONFLICT DO NOTHING", (hour,))
    conn.commit()
    done = ingest.maintain(conn, mode=ingest.StorageMode.POSTGRES, now=NOW)
    assert set(done.failed) == {"rollups"}
    assert "refuse_all" in done.failed["rollups"]
    assert done.dropped_partitions == [f"telemetry_p{old:%Y%m%d}0000"]
