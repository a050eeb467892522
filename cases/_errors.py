"""The cases package's exceptions, one tree, each carrying the data a caller needs.

CasesError
├── CaseNotFound          no case has this id (case_id)
├── IllegalTransition     the action is not allowed in the case's state (case_id, state, action)
├── VersionConflict       the case moved on since the caller read it (case_id, expected, actual)
├── DuplicateOpenCase     another open case already carries this fingerprint (fingerprint, case_id)
├── AlreadyClaimed        someone else claimed the case first (case_id, claimed_by)
├── InvalidRequest        a value the workflow refuses (field, reason)
├── PolicyFileError       a routing/SLA file cannot be read or is invalid (path, detail)
└── CaseStoreError        the database failed: retry later (psycopg's error is the __cause__)
    └── CaseValueRefused  the database refused a value (a NUL byte, a broken reference)

Each refusal carries a stable machine `code` ("case.<what>") and its `params` (the ids and
values its sentence names) beside the sentence: an interface says it in its own language
from the code, and the sentence stays what an operator reads in a log.
"""

from __future__ import annotations

from collections.abc import Mapping

Params = Mapping[str, str | int | None]


class CasesError(Exception):
    """Base of every error raised by `cases`."""

    code = "case.error"

    @property
    def params(self) -> Params:
        return {}


class CaseNotFound(CasesError):
    def __init__(self, case_id: int) -> None:
        super().__init__(f"case {case_id} does not exist")
        self.case_id = case_id

    code = "case.not_found"

    @property
    def params(self) -> Params:
        return {"case_id": self.case_id}


class IllegalTransition(CasesError):
    code = "case.illegal_transition"

    def __init__(self, case_id: int, state: str, action: str, transition: str = "") -> None:
        super().__init__(f"case {case_id} is {state}: {action} is not allowed in that state")
        self.case_id = case_id
        self.state = state
        self.action = action
        self.transition = transition  # the refused transition's name ("acknowledged")

    @property
    def params(self) -> Params:
        return {"case_id": self.case_id, "state": str(self.state), "transition": self.transition}


class VersionConflict(CasesError):
    """Optimistic concurrency: someone else acted on the case first."""

    code = "case.version_conflict"

    def __init__(self, case_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"case {case_id} is at version {actual}, not {expected}: "
            "it changed since it was read; reload it and try again"
        )
        self.case_id = case_id
        self.expected = expected
        self.actual = actual

    @property
    def params(self) -> Params:
        return {"case_id": self.case_id, "expected": self.expected, "actual": self.actual}


class DuplicateOpenCase(CasesError):
    code = "case.duplicate_open"

    def __init__(self, fingerprint: str, case_id: int) -> None:
        super().__init__(
            f"case {case_id} cannot be reopened: another open case carries {fingerprint!r}"
        )
        self.fingerprint = fingerprint
        self.case_id = case_id

    @property
    def params(self) -> Params:
        return {"case_id": self.case_id}


class AlreadyClaimed(CasesError):
    code = "case.already_claimed"

    def __init__(self, case_id: int, claimed_by: str) -> None:
        super().__init__(
            f"case {case_id} is already claimed by {claimed_by}: ask them, or have a"
            " dispatcher assign it"
        )
        self.case_id = case_id
        self.claimed_by = claimed_by

    @property
    def params(self) -> Params:
        return {"case_id": self.case_id, "claimed_by": self.claimed_by}


class InvalidRequest(CasesError):
    """`code` names the rule broken ("case.party_already"); without one, "case.invalid"
    (an interface shows the sentence). `params` are what the sentence names."""

    def __init__(
        self, field: str, reason: str, *, code: str = "case.invalid", **params: str | int | None
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self._params = params

    @property
    def params(self) -> Params:
        return {"field": self.field, **self._params}


class PolicyFileError(CasesError):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail


class CaseStoreError(CasesError):
    """The database refused or failed; the psycopg error is chained as `__cause__`."""


class CaseValueRefused(CaseStoreError):
    """A value PostgreSQL would not store; retrying the same request cannot help."""
