"""Exceptions from below, mapped to HTTP at the edge: every bad request gets a 4xx whose
`detail` says what is wrong; an unreachable database or broker is a 503. Each package
translates its own foreign errors (psycopg's among them), so this table names only
package errors, and a psycopg error that still reaches here is a 503 (and a bug to fix
in the package that let it through).

    cases.CaseNotFound              404
    cases.VersionConflict           409  (reload the case and try again)
    cases.IllegalTransition         409
    cases.DuplicateOpenCase         409
    cases.AlreadyClaimed            409  (someone else claimed it first)
    cases.InvalidRequest            422
    cases.CaseValueRefused          422  (a value PostgreSQL cannot take, e.g. a NUL byte)
    cases.CaseStoreError            503
    registry.AccessDenied           403
    registry.AlreadyRegistered      409  (move the resident out first)
    registry.PlateTaken             409  (the plate is another household's)
    registry.DeviceTaken            409
    registry.NotRegistered          422
    registry.ValueRefused           422
    registry.RegistryError          503 (unavailable)
    announce.AnnouncementNotFound   404
    parking.UnknownCompound         404
    parking.InvalidTariff           422
    parking.InvalidPeriod           422
    parking.ParkingStoreError       503
    announce.InvalidAnnouncement    422
    announce.AnnounceStoreError     503
    care.CareNotFound               404
    care.InvalidCare                422
    care.CareStoreError             503
    reports.InvalidPeriod           422  (a month that is no month, or absurd)
    deliberation.MatterNotFound     404
    deliberation.InvalidMatter      422
    deliberation.NotEntitled        403  (a voice or vote the matter does not give)
    deliberation.WrongStage         409  (AlreadyVoted too: not at this step of the matter)
    deliberation.DeliberationStoreError 503
    ingest.StorageUnavailable       503
    rules.AlarmStoreError           503
    notify.NotifyError              503 (its store unavailable)
    residents.NotYours              404  (a case not yours is as absent as one that is not)
    residents.Throttled             429  (with Retry-After)
    residents.SignInRefused         401  (a wrong, expired or void code)
    residents.NotYourHousehold      403
    residents.ReportRefused         422
    residents.PhotoTooLarge         413
    residents.PhotoRefused          422
    residents.ResidentsStoreError   503
    psycopg.DataError               400  (a value in a request the API passed through)
    psycopg.OperationalError        503
    psycopg_pool.PoolTimeout        503

Beside `detail`, the refusals of the packages that give one (`cases`, `care`) carry a stable
machine `code` ("case.party_already") and its `params` (the ids and values the sentence
names), as do the routes' own refusals raised as `Refusal`: the dashboard says the known
codes in the reader's language and shows `detail` for the others. `detail` stays as it is.

A request that fails validation is FastAPI's 422, except that an error's `input` longer
than MAX_ECHOED_INPUT characters (as JSON) is left out: the answer says what is wrong
without sending a large body back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from fastapi import FastAPI, HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

import announce
import care
import cases
import deliberation
import ingest
import notify
import parking
import registry
import reports
import residents
import rules

_CODES: tuple[tuple[type[Exception], int], ...] = (
    (cases.CaseNotFound, status.HTTP_404_NOT_FOUND),
    (cases.VersionConflict, status.HTTP_409_CONFLICT),
    (cases.IllegalTransition, status.HTTP_409_CONFLICT),
    (cases.DuplicateOpenCase, status.HTTP_409_CONFLICT),
    (cases.AlreadyClaimed, status.HTTP_409_CONFLICT),
    (cases.InvalidRequest, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (cases.CaseValueRefused, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (registry.AccessDenied, status.HTTP_403_FORBIDDEN),
    (registry.AlreadyRegistered, status.HTTP_409_CONFLICT),
    (registry.DeviceTaken, status.HTTP_409_CONFLICT),
    (registry.PlateTaken, status.HTTP_409_CONFLICT),
    (registry.NotRegistered, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (registry.ValueRefused, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (registry.RegistryLoadError, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (announce.AnnouncementNotFound, status.HTTP_404_NOT_FOUND),
    (announce.InvalidAnnouncement, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (care.CareNotFound, status.HTTP_404_NOT_FOUND),
    (care.InvalidCare, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (residents.NotYours, status.HTTP_404_NOT_FOUND),
    (residents.Throttled, status.HTTP_429_TOO_MANY_REQUESTS),
    (residents.SignInRefused, status.HTTP_401_UNAUTHORIZED),
    (residents.NotYourHousehold, status.HTTP_403_FORBIDDEN),
    (residents.ReportRefused, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (residents.PhotoTooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
    (residents.PhotoRefused, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (reports.InvalidPeriod, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (deliberation.MatterNotFound, status.HTTP_404_NOT_FOUND),
    (deliberation.InvalidMatter, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (deliberation.NotEntitled, status.HTTP_403_FORBIDDEN),
    (deliberation.WrongStage, status.HTTP_409_CONFLICT),
    (parking.UnknownCompound, status.HTTP_404_NOT_FOUND),
    (parking.InvalidTariff, status.HTTP_422_UNPROCESSABLE_CONTENT),
    (parking.InvalidPeriod, status.HTTP_422_UNPROCESSABLE_CONTENT),
)


MAX_ECHOED_INPUT = 100  # characters of JSON: a wrong id or number, not a document


class Refusal(HTTPException):
    """A route's own refusal with its machine code, answered like a package's."""

    def __init__(self, status_code: int, detail: str, code: str, **params: str | int | None):
        super().__init__(status_code, detail)
        self.code = code
        self.params = params


def _json(code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code)


def _coded(exc: Exception) -> dict[str, Any]:
    """`detail`, and the code and params of a package refusal that has them."""
    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, cases.CasesError | care.CareError):
        params: Mapping[str, Any] = exc.params
        body["code"], body["params"] = exc.code, jsonable_encoder(dict(params))
    return body


async def _package_error(_: Request, exc: Exception) -> JSONResponse:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            if isinstance(exc, residents.Throttled):
                return JSONResponse(
                    {"detail": str(exc)},
                    status_code=code,
                    headers={"Retry-After": str(exc.retry_after_s)},
                )
            if isinstance(exc, cases.VersionConflict):
                return JSONResponse(
                    {**_coded(exc), "current_version": exc.actual}, status_code=code
                )
            return JSONResponse(_coded(exc), status_code=code)
    return _unavailable_response()


async def _refusal(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    body = {"detail": exc.detail, "code": exc.code, "params": jsonable_encoder(exc.params)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _json(status.HTTP_400_BAD_REQUEST, f"a value in the request cannot be used: {first}")


def _unavailable_response() -> JSONResponse:
    return _json(status.HTTP_503_SERVICE_UNAVAILABLE, "the database is unreachable; retry")


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return _unavailable_response()


def _capped(error: dict[str, Any]) -> dict[str, Any]:
    encoded = jsonable_encoder(error)
    if "input" in encoded and len(json.dumps(encoded["input"])) > MAX_ECHOED_INPUT:
        del encoded["input"]
    return dict(encoded)


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [_capped(dict(e)) for e in exc.errors()]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Refusal, _refusal)
    roots = (
        cases.CasesError,
        registry.RegistryError,
        ingest.IngestError,
        rules.RulesError,
        notify.NotifyError,
        announce.AnnounceError,
        care.CareError,
        residents.ResidentsError,
        reports.ReportsError,
        deliberation.DeliberationError,
        parking.ParkingError,
    )
    for root in roots:
        app.add_exception_handler(root, _package_error)
    app.add_exception_handler(psycopg.DataError, _data_error)
    app.add_exception_handler(psycopg.OperationalError, _unavailable)
    app.add_exception_handler(PoolTimeout, _unavailable)
