"""`/a/{token}`: the acknowledgement link's page and its two buttons (api/_ack.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import FileResponse, HTMLResponse

import notify
from api import _ack
from api.deps import StateDep

router = APIRouter(include_in_schema=False)  # a page for people, not part of the API


@router.get("/a/_/ack.css")
def stylesheet() -> FileResponse:
    return FileResponse(_ack.ACK_CSS, media_type="text/css")


@router.get("/a/{token}", response_class=HTMLResponse)
def show(
    token: str,
    request: Request,
    state: StateDep,
    lang: str | None = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    language = _ack.language(lang, accept_language)
    path = request.url.path
    try:
        with state.pool.connection() as conn:
            view = notify.open_link(conn, state.links, token, state.clock.now())
    except notify.LinkRefused as exc:
        return _refused(exc, language, path)
    return HTMLResponse(_ack.case_page(view, language, path))


@router.post("/a/{token}", response_class=HTMLResponse)
def answer(
    token: str,
    request: Request,
    state: StateDep,
    answer: Annotated[str, Form(max_length=16)],
    lang: str | None = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> HTMLResponse:
    language = _ack.language(lang, accept_language)
    path = request.url.path
    try:
        with state.pool.connection() as conn:
            view = notify.answer_link(
                conn, state.links, token, answer, workflow=state.workflow, now=state.clock.now()
            )
    except notify.LinkRefused as exc:
        return _refused(exc, language, path)
    return HTMLResponse(_ack.case_page(view, language, path, answered=answer))


def _refused(exc: notify.LinkRefused, language: str, path: str) -> HTMLResponse:
    return HTMLResponse(_ack.refused_page(exc, language, path), status_code=_ack.STATUS[exc.kind])
