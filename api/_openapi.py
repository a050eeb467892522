"""The OpenAPI document as the truth about every answer: the error responses that any
operation of its kind can give are declared on it, with the body they carry.

FastAPI documents a route's success and its request-validation 422; the answers the app
gives around the route (401 without a valid token, 403 for a role or a scope, 404 for a
path naming nothing the caller may see, 413 over the body limit, 503 with the database
away) and the 422s of rules the route checks itself (`{"detail": "<reason>"}`) are added
here, once, so that the document and the server cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what is wrong, for a person"},
        "code": {
            "type": "string",
            "description": "the refusal's stable machine code (cases' and care's), e.g."
            " `case.party_already`, for an interface to say it in its own language",
        },
        "params": {"type": "object", "description": "the ids and values `detail` names"},
    },
}
_BY_KIND = {
    "401": "no valid bearer token (missing, expired, revoked, or the account is disabled)",
    "403": "the caller's role may not do this",
    "404": "nothing of that id that the caller may see",
    "413": "the request body is larger than the limit",
    "503": "the database is busy or unreachable; retry",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _complete(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    codes = ["413", "503"]
    if operation.get("security"):
        codes += ["401", "403"]
    if "{" in path:
        codes.append("404")
    for code in codes:
        given = responses.get(code)
        if given is None:
            responses[code] = _error(_BY_KIND[code])
        elif "content" not in given:
            given["content"] = _error("")["content"]
    if operation.get("parameters") or operation.get("requestBody"):
        validation = responses.setdefault("422", _error("the request breaks a rule"))
        # FastAPI's validation errors (a list) or a rule the route checks (a sentence).
        validation["content"] = {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/HTTPValidationError"},
                        {"$ref": "#/components/schemas/Error"},
                    ]
                }
            }
        }


def install(app: FastAPI, *, api_prefix: str) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR
        components.setdefault(
            "HTTPValidationError",
            {
                "title": "HTTPValidationError",
                "type": "object",
                "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
            },
        )
        for path, item in schema.get("paths", {}).items():
            if not path.startswith(api_prefix):
                continue
            for operation in item.values():
                _complete(path, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
