"""A resident's deliberations: the matters past their draft that affect their confirmed
household or invite it, newest first, each with its agenda, the opinions given so far,
their household's vote and, once decided, the decision and its tally; giving an opinion
while a matter is open, and their household's vote while it is voting.

Resident token only (`api._residents`). A resident whose household link is not
confirmed sees none and may neither speak nor vote: anyone may claim any flat. A matter
of another compound is a 404 whether it exists or not; one of their compound that does
not affect their household is refused with the reason (403), as is a second vote when
the matter's votes are final and any voice at the wrong step (409). What residents see
of other households' opinions is the building they come from, never the flat, and the
running count stays hidden until the vote closes (it would sway the undecided).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

import deliberation
from api._residents import ResidentDep
from api.deps import DbDep, StateDep
from api.routes.deliberations import REFUSALS, IdPath, TallyPublic, tally_public

router = APIRouter(prefix="/residents/me/deliberations", tags=["residents"])

NOT_CONFIRMED = (
    "your household link is not confirmed yet: a deliberation is for the households it"
    " affects, and a grid worker confirms that you live in yours first"
)


class MyOpinionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_OPINION)
    agenda_item: int | None = Field(None, ge=1, le=deliberation.MAX_AGENDA)


class MyVoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: deliberation.Choice


class VoiceOpinion(BaseModel):
    id: int
    kind: str = Field(description="party or household")
    party: str | None = Field(description="the party's name, for a party's opinion")
    building: str | None = Field(description="the building a household's opinion comes from")
    mine: bool = Field(description="your household's")
    agenda_item: int | None
    body: str
    at: datetime


class MatterForMe(BaseModel):
    id: int
    title: str
    description: str
    agenda: list[str]
    status: deliberation.Status
    can_vote: bool = Field(description="your household is affected: it has a vote")
    my_vote: deliberation.Choice | None = Field(description="your household's vote")
    votes_changeable: bool
    opinions: list[VoiceOpinion]
    decision: str | None
    outcome: deliberation.Outcome | None
    tally: TallyPublic | None = Field(description="once the vote closed")
    opened_at: datetime | None
    voting_at: datetime | None
    decided_at: datetime | None


class MattersForMe(BaseModel):
    data: list[MatterForMe]
    count: int
    flat: str | None = Field(description="the confirmed household they are for")
    note: str | None = Field(description="why there are none to show, when that is why")


class MyVotePublic(BaseModel):
    deliberation: MatterForMe
    first: bool = Field(description="false: it replaced your household's earlier vote")


def _for_me(conn: DbDep, m: deliberation.Matter, flat: str) -> MatterForMe:
    closed = m.status in (deliberation.Status.DECIDED, deliberation.Status.ARCHIVED)
    return MatterForMe(
        id=m.id,
        title=m.title,
        description=m.description,
        agenda=list(m.agenda),
        status=m.status,
        can_vote=m.affects(flat),
        my_vote=deliberation.ballot(conn, m.id, "household", flat),
        votes_changeable=m.votes_changeable,
        opinions=[
            VoiceOpinion(
                id=o.id,
                kind=o.author_kind,
                party=o.author_name if o.author_kind == "party" else None,
                building=o.author.split("-")[0] if o.author_kind == "household" else None,
                mine=o.author_kind == "household" and o.author == flat,
                agenda_item=o.agenda_item,
                body=o.body,
                at=o.at,
            )
            for o in m.opinions
        ],
        decision=m.decision,
        outcome=m.outcome,
        tally=tally_public(m.tally) if closed else None,
        opened_at=m.opened_at,
        voting_at=m.voting_at,
        decided_at=m.decided_at,
    )


def _home(resident: ResidentDep) -> tuple[str, str]:
    home = resident.confirmed
    if home is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_CONFIRMED)
    return home.compound, home.flat


@router.get("")
def my_deliberations(resident: ResidentDep, conn: DbDep) -> MattersForMe:
    """The matters that affect or invite your confirmed household, newest first."""
    home = resident.confirmed
    if home is None:
        return MattersForMe(data=[], count=0, flat=None, note=NOT_CONFIRMED)
    found = deliberation.for_household(conn, home.compound, home.flat)
    data = [_for_me(conn, m, home.flat) for m in found]
    return MattersForMe(data=data, count=len(data), flat=home.flat, note=None)


@router.post("/{matter_id}/opinions", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def give_opinion(
    matter_id: IdPath, body: MyOpinionCreate, resident: ResidentDep, state: StateDep, conn: DbDep
) -> MatterForMe:
    """Your household's opinion on a matter that is open, optionally on one agenda item."""
    compound, flat = _home(resident)
    deliberation.give_opinion(
        conn,
        compound,
        matter_id,
        deliberation.ResidentVoice(resident.id),
        body.body,
        agenda_item=body.agenda_item,
        now=state.clock.now(),
    )
    return _for_me(conn, deliberation.get(conn, compound, matter_id), flat)


@router.post("/{matter_id}/vote", responses=REFUSALS)
def vote(
    matter_id: IdPath, body: MyVoteCreate, resident: ResidentDep, state: StateDep, conn: DbDep
) -> MyVotePublic:
    """Your household's vote (one per household, whichever of its residents casts it)."""
    compound, flat = _home(resident)
    found, first = deliberation.vote(
        conn,
        compound,
        matter_id,
        deliberation.ResidentVoice(resident.id),
        body.choice,
        now=state.clock.now(),
    )
    return MyVotePublic(deliberation=_for_me(conn, found, flat), first=first)
