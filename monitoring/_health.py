"""What `/healthz` and `/readyz` answer, in one place: the process metrics server of
`dayuan gateway` and `dayuan rules run` answers exactly this, and the API's `/readyz`
shows the maintenance state the same way beside its database and broker checks."""

from __future__ import annotations

import ingest


def liveness() -> dict[str, str]:
    """The process answers: nothing more is checked (a restart would not help)."""
    return {"status": "ok"}


def maintenance_note(status: ingest.MaintenanceStatus) -> str:
    """'ok', or each failing step and why. Shown, never a reason for a 503: a stale rollup
    must not take a process out of its load balancer."""
    failing = status.failing()
    return "ok" if not failing else "; ".join(f"{k} failing: {v}" for k, v in failing.items())


def readiness(
    reason: str | None, maintenance: ingest.MaintenanceStatus | None = None
) -> tuple[int, dict[str, str]]:
    """The status code and body of a process's `/readyz`: 503 with `reason` (what the
    process says it still waits for, such as its broker subscription), 200 without."""
    body = {"status": "ready"} if reason is None else {"status": "not ready"}
    body |= {"detail": reason} if reason else {}
    if maintenance is not None:
        body["maintenance"] = maintenance_note(maintenance)
    return (200 if reason is None else 503), body
