"""The audit log, for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api import _audit, _cursor, _users
from api._access import Permission, User
from api.deps import DbDep, StateDep, require
from api.models import AuditPublic, AuditsPublic
from api.routes._params import Cursor, From, Limit, Offset, To

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[User, Depends(require(Permission.READ_AUDIT))]


@router.get("")
def audit(
    user: Auditor,
    conn: DbDep,
    state: StateDep,
    actor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    start: From = None,
    end: To = None,
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: Cursor = None,
) -> AuditsPublic:
    """What accounts did (of the administrator's organisation and those under it; the
    platform's administrators: everyone's), newest first; walk it with `cursor`."""
    before = _cursor.decode_id(state.key, "audit", cursor)
    found, count = _audit.entries(
        conn,
        actor=actor,
        action=action,
        start=start,
        end=end,
        limit=limit + 1,
        offset=offset,
        organisations=_users.managed_organisations(conn, user),
        before=before,
    )
    data, next_cursor = _cursor.page(state.key, "audit", found, limit, lambda a: (a["id"],))
    return AuditsPublic(
        data=[AuditPublic.model_validate(a) for a in data], count=count, next_cursor=next_cursor
    )
