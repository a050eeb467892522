"""The care package's exceptions, one tree, each carrying what a caller needs.

CareError
├── InvalidCare      a plan, visit, schedule or delivery that cannot be taken (field, reason)
├── CareNotFound     no such plan, follow-up or schedule in that compound (what, item_id)
└── CareStoreError   the database failed: retry later (psycopg's error is the __cause__)

Each refusal carries a stable machine `code` ("care.<what>") and its `params` beside the
sentence, for an interface to say it in its own language.
"""

from __future__ import annotations

from collections.abc import Mapping

Params = Mapping[str, str | int | None]


class CareError(Exception):
    """Base of every error raised by `care`."""

    code = "care.error"

    @property
    def params(self) -> Params:
        return {}


class InvalidCare(CareError):
    """`code` names the rule broken ("care.not_tagged"); without one, "care.invalid"."""

    def __init__(
        self, field: str, reason: str, *, code: str = "care.invalid", **params: str | int | None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self._params = params

    @property
    def params(self) -> Params:
        return {"field": self.field, **self._params}


class CareNotFound(CareError):
    code = "care.not_found"

    def __init__(self, what: str, item_id: int) -> None:
        super().__init__(f"{what} {item_id} does not exist in that compound")
        self.what = what
        self.item_id = item_id

    @property
    def params(self) -> Params:
        return {"what": self.what, "item_id": self.item_id}


class CareStoreError(CareError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""
