"""Operations: liveness, readiness (database and broker reachable), Prometheus metrics.

`/metrics` takes the scrape bearer token (`DAYUAN_METRICS_TOKEN`, Prometheus's
`authorization` / `bearer_token_file`); with none configured it is open in development
(`dayuan up`) and closed in production."""

from __future__ import annotations

import secrets

import anyio
import psycopg
from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from psycopg_pool import PoolTimeout

import monitoring
from api._state import AppState
from api.deps import StateDep

router = APIRouter(tags=["operations"])
READY_DB_TIMEOUT_S = 2.0  # a readiness probe must answer quickly, whatever the database does


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return monitoring.liveness()


def _database_ok(state: AppState) -> bool:
    try:
        with state.pool.connection(timeout=READY_DB_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")
    except (psycopg.Error, PoolTimeout):
        return False
    return True


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
async def readyz(state: StateDep) -> JSONResponse:
    database = await anyio.to_thread.run_sync(_database_ok, state)
    broker = state.config.mqtt is None or state.commands.connected.is_set()
    body = {
        "database": "ok" if database else "unreachable",
        "broker": "ok"
        if state.commands.connected.is_set()
        else ("not configured" if state.config.mqtt is None else "unreachable"),
    }
    if state.metrics.maintenance is not None:
        # Shown, not a 503: a stale rollup must not take the monitoring room's API away.
        body["maintenance"] = monitoring.maintenance_note(state.metrics.maintenance)
    return JSONResponse(body, status_code=200 if database and broker else 503)


def _render(state: AppState) -> bytes:
    with state.pool.connection() as conn:
        return monitoring.render_with_database(
            state.metrics,
            conn,
            now=state.clock.now(),
            silence_factor=state.config.silence_factor,
        )


def _scraper(request: Request, state: StateDep) -> None:
    token = state.config.metrics_token
    if token is None:
        if state.config.env == "production":
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "set DAYUAN_METRICS_TOKEN to scrape /metrics"
            )
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "/metrics needs the bearer token of DAYUAN_METRICS_TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(_scraper)],
    responses={
        401: {"description": "no or a wrong metrics bearer token"},
        403: {"description": "production without DAYUAN_METRICS_TOKEN"},
    },
)
async def metrics(state: StateDep) -> PlainTextResponse:
    text = await anyio.to_thread.run_sync(_render, state)
    return PlainTextResponse(text, media_type=monitoring.CONTENT_TYPE)
