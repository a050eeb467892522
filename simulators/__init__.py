"""Dayuan's device simulators: a whole compound, its daily life and its incidents.

`generate_compound` draws a compound file (one compound or a district of them) from
a few numbers; `Simulation` plays its devices in simulated time (pure, no I/O);
`run_simulation` puts that on an MQTT broker in real time, accelerated or flat-out,
and writes a manifest that accounts for every message sent. Scenario files schedule
incidents and wire faults at local compound times. Simulated devices answer the
backend's commands (on their `cmd` topics) with an `ack`. The CLI (`dayuan compound
generate`, `dayuan simulate`) is in `simulators.cli`.
"""

from pathlib import Path

from domain import SunTimes, solar_elevation, sun_times
from simulators._device import Connect, Disconnect, Item, Publish
from simulators._engine import Incident, Simulation, resident_cars
from simulators._errors import BrokerError, ScenarioError, SimulatorError
from simulators._generate import CompoundSize, Place, Shares, generate_compound
from simulators._manifest import DeviceRecord, Manifest, ManifestWriter, SeqRanges, read_manifest
from simulators._mqtt import (
    FleetTransport,
    MqttTarget,
    RealisticTransport,
    Received,
    Transport,
    TransportStats,
)
from simulators._progress import Progress
from simulators._run import Pacer, SimulationReport, run_simulation
from simulators._scenario import Scenario, load_scenario, parse_duration, parse_scenario
from simulators._scenario import resolve as resolve_scenario

DEMO_SCENARIO = Path(__file__).parent / "scenarios" / "demo.yaml"
# `dayuan up`'s first history: the same story by offsets from its start, not the clock.
UP_SCENARIO = Path(__file__).parent / "scenarios" / "up.yaml"

__all__ = [
    "DEMO_SCENARIO",
    "UP_SCENARIO",
    "BrokerError",
    "CompoundSize",
    "Connect",
    "DeviceRecord",
    "Disconnect",
    "FleetTransport",
    "Incident",
    "Item",
    "Manifest",
    "ManifestWriter",
    "MqttTarget",
    "Pacer",
    "Place",
    "Progress",
    "Publish",
    "RealisticTransport",
    "Received",
    "Scenario",
    "ScenarioError",
    "SeqRanges",
    "Shares",
    "Simulation",
    "SimulationReport",
    "SimulatorError",
    "SunTimes",
    "Transport",
    "TransportStats",
    "generate_compound",
    "load_scenario",
    "parse_duration",
    "parse_scenario",
    "read_manifest",
    "resident_cars",
    "resolve_scenario",
    "run_simulation",
    "solar_elevation",
    "sun_times",
]
