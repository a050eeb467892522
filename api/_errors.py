"""Exceptions from below, mapped to HTTP at the edge: every bad request gets a 4xx whose
`detail` says what is wrong; an unreachable database or broker is a 503.

    cases.CaseNotFound              404
    cases.AccessDenied              403
    cases.VersionConflict           409  (reload the case and try again)
    cases.IllegalTransition         409
    cases.DuplicateOpenCase         409
    cases.AlreadyRegistered         409  (move the resident out first)
    cases.InvalidRequest            422
    cases.CaseStoreError            422 when the database refused a value, else 503
    psycopg.DataError               400  (a value PostgreSQL cannot take, e.g. a NUL byte)
    psycopg.OperationalError        503
    psycopg_pool.PoolTimeout        503
"""

from __future__ import annotations

import psycopg
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

import cases

_CASES = (
    (cases.CaseNotFound, status.HTTP_404_NOT_FOUND),
    (cases.AccessDenied, status.HTTP_403_FORBIDDEN),
    (cases.VersionConflict, status.HTTP_409_CONFLICT),
    (cases.IllegalTransition, status.HTTP_409_CONFLICT),
    (cases.DuplicateOpenCase, status.HTTP_409_CONFLICT),
    (cases.AlreadyRegistered, status.HTTP_409_CONFLICT),
    (cases.InvalidRequest, status.HTTP_422_UNPROCESSABLE_CONTENT),
)


def _json(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


async def _cases_error(_: Request, exc: Exception) -> JSONResponse:
    for kind, code in _CASES:
        if isinstance(exc, kind):
            body = _json(code, str(exc))
            if isinstance(exc, cases.VersionConflict):
                body = JSONResponse(
                    {"detail": str(exc), "current_version": exc.actual}, status_code=code
                )
            return body
    cause = exc.__cause__
    if isinstance(cause, psycopg.DataError | psycopg.IntegrityError):
        return _json(status.HTTP_422_UNPROCESSABLE_CONTENT, f"the value was refused: {cause}")
    return _json(status.HTTP_503_SERVICE_UNAVAILABLE, "the case store is unavailable; retry")


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _json(status.HTTP_400_BAD_REQUEST, f"a value in the request cannot be used: {first}")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return _json(status.HTTP_503_SERVICE_UNAVAILABLE, "the database is unreachable; retry")


def install(app: FastAPI) -> None:
    app.add_exception_handler(cases.CasesError, _cases_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
