"""The audit log, for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import _audit, _users
from api._access import Permission, User
from api.deps import DbDep, require
from api.models import AuditPublic, AuditsPublic
from api.routes._params import From, Limit, Offset, To

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[User, Depends(require(Permission.READ_AUDIT))]


@router.get("")
def audit(
    user: Auditor,
    conn: DbDep,
    actor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> AuditsPublic:
    """What accounts did (of the administrator's organisation and those under it; the
    platform's administrators: everyone's)."""
    data, count = _audit.entries(
        conn,
        actor=actor,
        action=action,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
        organisations=_users.managed_organisations(conn, user),
    )
    return AuditsPublic(data=[AuditPublic.model_validate(a) for a in data], count=count)
