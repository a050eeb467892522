"""Resident deliberations (民主议事厅) for staff: convene a matter (its agenda, the
households it affects, its quorum), add the parties and invited households taking
part, open it for opinions, record a party's opinion or vote, start and close the vote
(the tally recorded with the decision), publish the decision to the affected households
as an announcement, archive it, and point a case to it. Every reader lists and reads the
matters of the compounds they see, with opinions and the tally; running one is the
residents' committee's work (admins; grid workers for the buildings of their grids).
Each step out of order is a 409 saying what the matter is and what it waits for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

import deliberation
from api._access import Permission, User
from api.deps import DbDep, Reader, StateDep, in_scope, require
from api.models import Message
from api.routes._params import Limit, Offset

router = APIRouter(prefix="/deliberations", tags=["deliberations"])
Runner = Annotated[User, Depends(require(Permission.RUN_DELIBERATIONS))]
CompoundPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
IdPath = Annotated[int, Path(ge=1, le=2**62)]
Flat = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$")]
Building = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,16}$")]
PartyId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
AgendaItem = Annotated[
    str, Field(pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_AGENDA_ITEM)
]

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"model": Message, "description": "outside the caller's grids, or a voice not given"},
    404: {"model": Message, "description": "no such matter in that compound"},
    409: {"model": Message, "description": "not at this step of the matter's life"},
    422: {"model": Message, "description": "a compound, building, flat or party that is not"},
}


class DeliberationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compound: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: str = Field(pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_TITLE)
    description: str = Field(
        pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_DESCRIPTION
    )
    agenda: list[AgendaItem] = Field(default_factory=list, max_length=deliberation.MAX_AGENDA)
    buildings: list[Building] = Field(default_factory=list, max_length=deliberation.MAX_TARGETS)
    flats: list[Flat] = Field(
        default_factory=list,
        max_length=deliberation.MAX_TARGETS,
        description="affected households; none and no buildings: the whole compound",
    )
    quorum: str = Field(
        "2/3",
        pattern=r"^(0|1|0?\.[0-9]{1,3}|[0-9]{1,3}/[1-9][0-9]{0,2})$",
        description="the share of the electorate that must vote (a fraction at most 1)",
    )
    organisations_vote: bool = Field(False, description="the listed parties vote too")
    votes_changeable: bool = Field(False, description="a later vote replaces an earlier one")
    parties: list[PartyId] = Field(default_factory=list, max_length=50)


class ParticipantsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parties: list[PartyId] = Field(default_factory=list, max_length=50)
    flats: list[Flat] = Field(
        default_factory=list,
        max_length=deliberation.MAX_TARGETS,
        description="households invited to give opinions (only affected households vote)",
    )


class OpinionCreate(BaseModel):
    """A listed party's opinion, or a household's given to staff: exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    party: PartyId | None = None
    household: Flat | None = Field(
        None, description="the flat of an affected or invited household, on its behalf"
    )
    body: str = Field(pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_OPINION)
    agenda_item: int | None = Field(None, ge=1, le=deliberation.MAX_AGENDA)

    @model_validator(mode="after")
    def _one_author(self) -> OpinionCreate:
        if (self.party is None) == (self.household is None):
            raise ValueError("name the party or the household the opinion is from, not both")
        return self


class PartyVoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    party: PartyId
    choice: deliberation.Choice


class VotingClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(pattern=r"^[^\x00]*$", min_length=1, max_length=deliberation.MAX_DECISION)


class TallyPublic(BaseModel):
    electorate: int = Field(description="affected households with a confirmed resident, parties")
    votes_for: int
    votes_against: int
    abstentions: int
    cast: int
    quorum: str
    quorate: bool
    outcome: deliberation.Outcome = Field(description="so far, while voting")


class ParticipantPublic(BaseModel):
    kind: str = Field(description="party or household")
    ref: str
    name: str


class OpinionPublic(BaseModel):
    id: int
    author_kind: str = Field(description="party or household")
    author: str | None = Field(
        description="the party's id or the household's flat (none: a flat outside your grids)"
    )
    author_name: str | None
    building: str | None = Field(description="the building a household's opinion comes from")
    agenda_item: int | None
    body: str
    at: datetime


class DeliberationPublic(BaseModel):
    id: int
    compound: str
    title: str
    description: str
    agenda: list[str]
    scope: str = Field(description="compound, buildings or households")
    buildings: list[str]
    flats: list[str]
    households: int = Field(description="households affected now")
    quorum: str
    organisations_vote: bool
    votes_changeable: bool
    status: deliberation.Status
    created_by: str
    created_at: datetime
    opened_at: datetime | None
    voting_at: datetime | None
    decided_at: datetime | None
    decision: str | None
    outcome: deliberation.Outcome | None
    tally: TallyPublic
    announcement_id: int | None
    published_at: datetime | None
    archived_at: datetime | None
    participants: list[ParticipantPublic]
    opinions: list[OpinionPublic]
    cases: list[int] = Field(description="the cases that point to this matter")


class DeliberationsPublic(BaseModel):
    data: list[DeliberationPublic]
    count: int


class VotePublic(BaseModel):
    deliberation: DeliberationPublic
    first: bool = Field(description="false: it replaced the voter's earlier vote")


def tally_public(t: deliberation.Tally) -> TallyPublic:
    return TallyPublic(
        electorate=t.electorate,
        votes_for=t.votes_for,
        votes_against=t.votes_against,
        abstentions=t.abstentions,
        cast=t.cast,
        quorum=str(t.quorum),
        quorate=t.quorate,
        outcome=t.outcome,
    )


def opinion_public(user: User, compound: str, o: deliberation.Opinion) -> OpinionPublic:
    """An opinion as staff see it: a household's by its flat, unless the flat lies outside
    a grid worker's grids (then by its building only, as households are listed)."""
    household = o.author_kind == "household"
    shown = not household or user.sees_building(compound, o.author)
    return OpinionPublic(
        id=o.id,
        author_kind=o.author_kind,
        author=o.author if shown else None,
        author_name=o.author_name if shown else None,
        building=o.author.split("-")[0] if household else None,
        agenda_item=o.agenda_item,
        body=o.body,
        at=o.at,
    )


def _public(conn: DbDep, user: User, m: deliberation.Matter) -> DeliberationPublic:
    return DeliberationPublic(
        id=m.id,
        compound=m.compound,
        title=m.title,
        description=m.description,
        agenda=list(m.agenda),
        scope="households" if m.flats else "buildings" if m.buildings else "compound",
        buildings=list(m.buildings),
        flats=list(m.flats),
        households=len(deliberation.affected(conn, m)),
        quorum=str(m.quorum),
        organisations_vote=m.organisations_vote,
        votes_changeable=m.votes_changeable,
        status=m.status,
        created_by=m.created_by,
        created_at=m.created_at,
        opened_at=m.opened_at,
        voting_at=m.voting_at,
        decided_at=m.decided_at,
        decision=m.decision,
        outcome=m.outcome,
        tally=tally_public(m.tally),
        announcement_id=m.announcement_id,
        published_at=m.published_at,
        archived_at=m.archived_at,
        participants=[
            ParticipantPublic(kind=p.kind, ref=p.ref, name=p.name) for p in m.participants
        ],
        opinions=[opinion_public(user, m.compound, o) for o in m.opinions],
        cases=list(m.cases),
    )


def _compound_visible(user: User, compound: str) -> None:
    in_scope(user, compound)


def _within_grids(user: User, compound: str, buildings: list[str], flats: list[str]) -> None:
    _compound_visible(user, compound)
    if not user.grid_bound:
        return
    if not buildings and not flats:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "a grid worker convenes deliberations for the buildings or households of their"
            " grids; a matter of the whole compound is an admin's",
        )
    outside = [a for a in [*buildings, *flats] if not user.sees_building(compound, a)]
    if outside:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"outside your grids: {', '.join(outside[:10])}"
        )


def _runs(conn: DbDep, user: User, compound: str, matter_id: int) -> deliberation.Matter:
    """The matter, if the caller may run it."""
    _compound_visible(user, compound)
    found = deliberation.get(conn, compound, matter_id)
    _within_grids(user, compound, list(found.buildings), list(found.flats))
    return found


@router.get("", responses=REFUSALS)
def list_deliberations(
    user: Reader,
    conn: DbDep,
    compound: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    status_: Annotated[deliberation.Status | None, Query(alias="status")] = None,
    case_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="the matter this case points to")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> DeliberationsPublic:
    """A compound's matters, newest first, with their opinions and tally."""
    _compound_visible(user, compound)
    data, count = deliberation.listed(
        conn, compound, status=status_, case_id=case_id, limit=limit, offset=offset
    )
    return DeliberationsPublic(data=[_public(conn, user, m) for m in data], count=count)


@router.post("", status_code=status.HTTP_201_CREATED, responses=REFUSALS)
def create(
    body: DeliberationCreate, user: Runner, conn: DbDep, state: StateDep
) -> DeliberationPublic:
    """Convene a matter, as a draft residents do not see yet. Refused with 422 and the
    reason: a compound, building, household or party the registry does not know, or a
    quorum that is no share of the electorate."""
    _within_grids(user, body.compound, body.buildings, body.flats)
    draft = deliberation.Draft(
        compound=body.compound,
        title=body.title,
        description=body.description,
        agenda=tuple(body.agenda),
        buildings=tuple(dict.fromkeys(body.buildings)),
        flats=tuple(dict.fromkeys(body.flats)),
        quorum=deliberation.parse_quorum(body.quorum),
        organisations_vote=body.organisations_vote,
        votes_changeable=body.votes_changeable,
    )
    made = deliberation.create(
        conn, draft, parties=body.parties, actor=user.username, now=state.clock.now()
    )
    return _public(conn, user, made)


@router.get("/{compound_id}/{matter_id}", responses=REFUSALS)
def get_deliberation(
    compound_id: CompoundPath, matter_id: IdPath, user: Reader, conn: DbDep
) -> DeliberationPublic:
    """One matter with its participants, opinions, tally and the cases pointing to it."""
    _compound_visible(user, compound_id)
    return _public(conn, user, deliberation.get(conn, compound_id, matter_id))


@router.post("/{compound_id}/{matter_id}/participants", responses=REFUSALS)
def add_participants(
    compound_id: CompoundPath,
    matter_id: IdPath,
    body: ParticipantsCreate,
    user: Runner,
    conn: DbDep,
    state: StateDep,
) -> DeliberationPublic:
    """Parties (by their registry id) and invited households, while prepared or open."""
    _runs(conn, user, compound_id, matter_id)
    found = deliberation.add_participants(
        conn,
        compound_id,
        matter_id,
        parties=body.parties,
        flats=body.flats,
        actor=user.username,
        now=state.clock.now(),
    )
    return _public(conn, user, found)


@router.post("/{compound_id}/{matter_id}/open", responses=REFUSALS)
def open_matter(
    compound_id: CompoundPath, matter_id: IdPath, user: Runner, conn: DbDep, state: StateDep
) -> DeliberationPublic:
    """Draft -> open: the affected households see it and give their opinions."""
    _runs(conn, user, compound_id, matter_id)
    return _public(
        conn, user, deliberation.open_matter(conn, compound_id, matter_id, now=state.clock.now())
    )


@router.post("/{compound_id}/{matter_id}/opinions", responses=REFUSALS)
def party_opinion(
    compound_id: CompoundPath,
    matter_id: IdPath,
    body: OpinionCreate,
    user: Runner,
    conn: DbDep,
    state: StateDep,
) -> OpinionPublic:
    """A listed party's opinion, as its representative gave it, or an affected or invited
    household's, as it gave it to staff (a household's vote is its own), while the matter
    is open. A grid worker records households of their grids only (403)."""
    _runs(conn, user, compound_id, matter_id)
    voice: deliberation.Voice
    if body.household is not None:
        if not user.sees_building(compound_id, body.household):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"outside your grids: {body.household}")
        voice = deliberation.HouseholdVoice(body.household, recorded_by=user.username)
    else:
        assert body.party is not None  # the model takes exactly one
        voice = deliberation.PartyVoice(body.party, recorded_by=user.username)
    o = deliberation.give_opinion(
        conn,
        compound_id,
        matter_id,
        voice,
        body.body,
        agenda_item=body.agenda_item,
        now=state.clock.now(),
    )
    return opinion_public(user, compound_id, o)


@router.post("/{compound_id}/{matter_id}/voting", responses=REFUSALS)
def start_voting(
    compound_id: CompoundPath, matter_id: IdPath, user: Runner, conn: DbDep, state: StateDep
) -> DeliberationPublic:
    """Open -> voting: opinions close, the entitled households vote."""
    _runs(conn, user, compound_id, matter_id)
    return _public(
        conn, user, deliberation.start_voting(conn, compound_id, matter_id, now=state.clock.now())
    )


@router.post("/{compound_id}/{matter_id}/votes", responses=REFUSALS)
def party_vote(
    compound_id: CompoundPath,
    matter_id: IdPath,
    body: PartyVoteCreate,
    user: Runner,
    conn: DbDep,
    state: StateDep,
) -> VotePublic:
    """A listed party's vote, when the matter gives parties a vote. Refused with 403: a
    party not listed, or a matter only households vote on; 409: not voting, or a second
    vote on a matter whose votes are final."""
    _runs(conn, user, compound_id, matter_id)
    found, first = deliberation.vote(
        conn,
        compound_id,
        matter_id,
        deliberation.PartyVoice(body.party, recorded_by=user.username),
        body.choice,
        now=state.clock.now(),
    )
    return VotePublic(deliberation=_public(conn, user, found), first=first)


@router.post("/{compound_id}/{matter_id}/close", responses=REFUSALS)
def close_voting(
    compound_id: CompoundPath,
    matter_id: IdPath,
    body: VotingClose,
    user: Runner,
    conn: DbDep,
    state: StateDep,
) -> DeliberationPublic:
    """Voting -> decided: the tally is counted now and recorded with the decision."""
    _runs(conn, user, compound_id, matter_id)
    found = deliberation.close_voting(
        conn,
        compound_id,
        matter_id,
        decision=body.decision,
        actor=user.username,
        now=state.clock.now(),
    )
    return _public(conn, user, found)


@router.post("/{compound_id}/{matter_id}/publish", responses=REFUSALS)
def publish(
    compound_id: CompoundPath, matter_id: IdPath, user: Runner, conn: DbDep, state: StateDep
) -> DeliberationPublic:
    """The decision and its tally, as an announcement to the affected households (once)."""
    _runs(conn, user, compound_id, matter_id)
    found = deliberation.publish(
        conn, compound_id, matter_id, actor=user.username, now=state.clock.now()
    )
    return _public(conn, user, found)


@router.post("/{compound_id}/{matter_id}/archive", responses=REFUSALS)
def archive(
    compound_id: CompoundPath, matter_id: IdPath, user: Runner, conn: DbDep, state: StateDep
) -> DeliberationPublic:
    """Decided and published -> archived: read-only from now on."""
    _runs(conn, user, compound_id, matter_id)
    found = deliberation.archive(
        conn, compound_id, matter_id, actor=user.username, now=state.clock.now()
    )
    return _public(conn, user, found)


@router.put("/{compound_id}/{matter_id}/cases/{case_id}", responses=REFUSALS)
def link_case(
    compound_id: CompoundPath,
    matter_id: IdPath,
    case_id: IdPath,
    user: Runner,
    conn: DbDep,
    state: StateDep,
) -> DeliberationPublic:
    """A case of the compound points to this matter (it pointed elsewhere: now here)."""
    _runs(conn, user, compound_id, matter_id)
    found = deliberation.link_case(
        conn, compound_id, matter_id, case_id, actor=user.username, now=state.clock.now()
    )
    return _public(conn, user, found)
