"""The exception tree of the simulators.

    SimulatorError
    ├── ScenarioError       a scenario that does not validate, or names what the compound lacks
    ├── BrokerError         the MQTT broker cannot be reached, refuses us, or drops us for good
    └── CommandFailed       a simulated device cannot carry out a valid command (it answers
                            with an `error` ack: this one never leaves a run)

Foreign errors (OSError, yaml, pydantic, paho; compound files are `registry`'s) are
translated at the edge with
`raise ... from exc`, so a caller catches `SimulatorError` and nothing else.
"""

from __future__ import annotations

from pathlib import Path


class SimulatorError(Exception):
    """Base of every error raised by `simulators`."""


class ScenarioError(SimulatorError):
    """`entry` is the position in the scenario's schedule (None for the file as a whole)."""

    def __init__(self, detail: str, *, path: Path | None = None, entry: int | None = None) -> None:
        where = "scenario" if path is None else f"scenario {str(path)!r}"
        if entry is not None:
            where += f", schedule[{entry}]"
        super().__init__(f"{where}: {detail}")
        self.path = path
        self.entry = entry
        self.detail = detail


class BrokerError(SimulatorError):
    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"MQTT broker {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason


class CommandFailed(SimulatorError):
    """Raised by a device model's `apply` for a command it cannot carry out right now."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
