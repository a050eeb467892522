"""Dead letters, for operators: counts by reason and the newest samples of each."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status

from api import _history
from api._access import Permission, User
from api.deps import DbDep, StateDep, require
from api.models import DeadLetterPublic, DeadLettersPublic, ReasonCount
from api.routes._params import From, To
from domain import Reason

router = APIRouter(prefix="/dead-letters", tags=["dead-letters"])
Operator = Annotated[User, Depends(require(Permission.READ_DEAD_LETTERS))]
MAX_RANGE = timedelta(days=31)  # dead letters are kept 30 days


@router.get("")
def dead_letters(
    _: Operator,
    conn: DbDep,
    state: StateDep,
    start: From = None,
    end: To = None,
    reason: Reason | None = None,
) -> DeadLettersPublic:
    """Default: the last 24 hours. Refused with 422 and the reason: `to` not after `from`,
    or more than 31 days after it (dead letters are kept 30 days)."""
    end = end or state.clock.now()
    start = start or end - timedelta(days=1)
    if not timedelta() < end - start <= MAX_RANGE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"`to` must be after `from`, and at most {MAX_RANGE.days} days after it",
        )
    counts, samples = _history.dead_letters(
        conn, start=start, end=end, reason=reason.value if reason else None
    )
    return DeadLettersPublic(
        start=start,
        end=end,
        counts=[ReasonCount.model_validate(c) for c in counts],
        samples=[DeadLetterPublic.model_validate(s) for s in samples],
    )
