"""Deliberations on a real database: a lift matter for building 3 from draft to archive
(participants, opinions, one vote per household, the tally recorded with the decision,
the decision announced to the building's households), the majority rule with its
quorum, and every voice the matter does not give refused with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import psycopg
import pytest

import announce
import deliberation as d
import registry
import residents
from domain import Household, HouseholdTag
from tests.factories import compound_file

Conn = psycopg.Connection[tuple[Any, ...]]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LIFT = ("3-1-101", "3-1-102", "3-2-301")  # building 3's households
ELSEWHERE = "1-1-101"  # building 1


@pytest.fixture
def db(conn: Conn) -> Conn:
    homes = [Household(flat=f) for f in (*LIFT, ELSEWHERE)]
    homes[2] = Household(flat="3-2-301", tags=[HouseholdTag.ELDERLY])
    registry.load(conn, compound_file(households=homes), actor="test", now=T0)
    return conn


Link = Callable[..., d.ResidentVoice]


@pytest.fixture
def resident(db: Conn) -> Link:
    """A resident account linked to a flat of c1 (confirmed unless told otherwise)."""
    made = iter(range(1, 100))

    def link(flat: str, *, confirm: bool = True) -> d.ResidentVoice:
        phone = residents.Phone.parse(f"+86138000001{next(made):02d}")
        account = residents.signed_in(db, phone, T0)
        residents.request_household(db, account, "c1", flat, T0)
        if confirm:
            residents.decide_link(db, account.id, confirm=True, by="s-cadre2", now=T0)
        return d.ResidentVoice(account.id)

    return link


def lift(db: Conn, **changes: Any) -> d.Matter:
    values: dict[str, Any] = {
        "compound": "c1",
        "title": "A lift for building 3",
        "description": "Install a lift in each stairwell of building 3; the owners share the cost.",
        "agenda": ("Where the shafts go", "How the cost is shared"),
        "buildings": ("3",),
    }
    draft = d.Draft(**(values | changes))
    return d.create(db, draft, actor="u-admin", now=T0)


def test_a_lift_from_draft_to_archive(db: Conn, resident: Link) -> None:
    a, b, c = (resident(f) for f in LIFT)
    neighbour = resident(ELSEWHERE)
    matter = lift(db, quorum=Fraction(1, 2))
    assert (matter.status, matter.quorum, matter.tally.electorate) == (d.Status.DRAFT, 0.5, 3)
    assert d.affected(db, matter) == sorted(LIFT)
    assert d.for_household(db, "c1", "3-1-101") == []  # residents do not see a draft

    matter = d.add_participants(
        db,
        "c1",
        matter.id,
        parties=["p-property", "p-owners"],
        flats=[ELSEWHERE],  # the neighbours across the lane: heard, not voting
        actor="u-admin",
        now=T0,
    )
    assert [(p.kind, p.name) for p in matter.participants] == [
        ("party", "Owners' committee"),
        ("party", "Property company"),
        ("household", ELSEWHERE),
    ]
    d.open_matter(db, "c1", matter.id, now=T0 + timedelta(hours=1))
    assert [m.id for m in d.for_household(db, "c1", "3-2-301")] == [matter.id]
    assert [m.id for m in d.for_household(db, "c1", ELSEWHERE)] == [matter.id]  # invited
    d.give_opinion(
        db, "c1", matter.id, a, "Put the shaft on the north side.", agenda_item=1, now=T0
    )
    d.give_opinion(db, "c1", matter.id, neighbour, "It will shade our windows.", now=T0)
    said = d.give_opinion(
        db,
        "c1",
        matter.id,
        d.PartyVoice("p-owners", recorded_by="u-admin"),
        "Ground-floor owners pay nothing.",
        agenda_item=2,
        now=T0,
    )
    assert (said.author_kind, said.author_name) == ("party", "Owners' committee")

    d.start_voting(db, "c1", matter.id, now=T0 + timedelta(days=7))
    d.vote(db, "c1", matter.id, a, d.Choice.FOR, now=T0)
    d.vote(db, "c1", matter.id, b, d.Choice.FOR, now=T0)
    running, first = d.vote(db, "c1", matter.id, c, d.Choice.AGAINST, now=T0)
    assert first
    assert (running.tally.votes_for, running.tally.votes_against) == (2, 1)
    assert d.ballot(db, matter.id, "household", "3-2-301") is d.Choice.AGAINST

    decided = d.close_voting(
        db, "c1", matter.id, decision="The lift is installed.", actor="u-admin", now=T0
    )
    assert decided.status is d.Status.DECIDED
    assert decided.outcome is d.Outcome.PASSED
    t = decided.tally
    assert (t.electorate, t.votes_for, t.votes_against, t.abstentions) == (3, 2, 1, 0)
    # The recorded tally stands whoever is linked later.
    resident("3-1-102")
    assert d.get(db, "c1", matter.id).tally.electorate == 3

    published = d.publish(db, "c1", matter.id, actor="u-admin", now=T0 + timedelta(days=8))
    assert published.announcement_id is not None
    notice = announce.get(db, "c1", published.announcement_id)
    assert announce.audience(db, notice) == sorted(LIFT)
    assert notice.title == "A lift for building 3"
    assert notice.body.startswith("The lift is installed.")
    assert "同意 2, 反对 1, 弃权 0" in notice.body
    with pytest.raises(d.WrongStage, match="published already"):
        d.publish(db, "c1", matter.id, actor="u-admin", now=T0)

    archived = d.archive(db, "c1", matter.id, actor="u-admin", now=T0 + timedelta(days=40))
    assert archived.status is d.Status.ARCHIVED
    with pytest.raises(d.WrongStage, match="read-only"):
        d.give_opinion(db, "c1", matter.id, a, "Too late?", now=T0)
    with pytest.raises(d.WrongStage, match="read-only"):
        d.vote(db, "c1", matter.id, a, d.Choice.AGAINST, now=T0)
    with pytest.raises(d.WrongStage, match="read-only"):
        d.add_participants(db, "c1", matter.id, parties=["p-rc"], actor="u-admin", now=T0)
    assert [o.body[:6] for o in d.get(db, "c1", matter.id).opinions] == [
        "Put th",
        "It wil",
        "Ground",
    ]


def test_who_may_not_vote_is_refused_with_the_reason(db: Conn, resident: Link) -> None:
    first, _, _ = (resident(f) for f in LIFT)
    housemate = resident("3-1-101")
    outsider = resident(ELSEWHERE)
    unconfirmed = resident("3-1-102", confirm=False)
    matter = lift(db)
    d.add_participants(db, "c1", matter.id, parties=["p-property"], actor="u", now=T0)
    d.open_matter(db, "c1", matter.id, now=T0)
    with pytest.raises(d.WrongStage, match="votes are taken while voting is open"):
        d.vote(db, "c1", matter.id, first, d.Choice.FOR, now=T0)
    with pytest.raises(d.NotEntitled, match="neither affected by nor invited"):
        d.give_opinion(db, "c1", matter.id, outsider, "Not my building, but...", now=T0)
    d.start_voting(db, "c1", matter.id, now=T0)
    with pytest.raises(d.WrongStage, match="opinions are collected while it is open"):
        d.give_opinion(db, "c1", matter.id, first, "One more thing", now=T0)

    with pytest.raises(d.NotEntitled, match="1-1-101: not among the households") as refused:
        d.vote(db, "c1", matter.id, outsider, d.Choice.FOR, now=T0)
    assert refused.value.who == "household 1-1-101"
    with pytest.raises(d.NotEntitled, match="not confirmed"):
        d.vote(db, "c1", matter.id, unconfirmed, d.Choice.FOR, now=T0)
    with pytest.raises(d.NotEntitled, match="only the affected households vote"):
        d.vote(db, "c1", matter.id, d.PartyVoice("p-property", "u"), d.Choice.FOR, now=T0)
    with pytest.raises(d.NotEntitled, match="not a participant"):
        d.vote(db, "c1", matter.id, d.PartyVoice("p-police", "u"), d.Choice.FOR, now=T0)

    d.vote(db, "c1", matter.id, first, d.Choice.FOR, now=T0)
    with pytest.raises(d.AlreadyVoted, match="cannot be changed"):
        d.vote(db, "c1", matter.id, first, d.Choice.AGAINST, now=T0)
    with pytest.raises(d.AlreadyVoted):  # one vote per household, not per resident
        d.vote(db, "c1", matter.id, housemate, d.Choice.AGAINST, now=T0)
    assert d.ballot(db, matter.id, "household", "3-1-101") is d.Choice.FOR
    with pytest.raises(d.MatterNotFound):
        d.get(db, "c2", matter.id)

    # One vote of three: below the default quorum of two thirds.
    decided = d.close_voting(db, "c1", matter.id, decision="Not decided.", actor="u", now=T0)
    assert decided.outcome is d.Outcome.NO_QUORUM
    with pytest.raises(d.WrongStage, match="publish the decision"):
        d.archive(db, "c1", matter.id, actor="u", now=T0)


def test_staff_record_a_households_opinion_on_its_behalf_but_never_its_vote(db: Conn) -> None:
    matter = lift(db)
    d.add_participants(db, "c1", matter.id, flats=[ELSEWHERE], actor="u", now=T0)
    d.open_matter(db, "c1", matter.id, now=T0)
    phoned = d.HouseholdVoice("3-2-301", recorded_by="u-clerk")
    said = d.give_opinion(db, "c1", matter.id, phoned, "We need it: we are 80.", now=T0)
    assert (said.author_kind, said.author, said.recorded_by) == ("household", "3-2-301", "u-clerk")
    invited = d.HouseholdVoice(ELSEWHERE, recorded_by="u-clerk")
    d.give_opinion(db, "c1", matter.id, invited, "Mind our light.", now=T0)
    with pytest.raises(d.InvalidMatter, match="no such household: 3-9-999"):
        d.give_opinion(db, "c1", matter.id, d.HouseholdVoice("3-9-999", "u"), "x", now=T0)
    d.start_voting(db, "c1", matter.id, now=T0)
    with pytest.raises(d.NotEntitled, match="casts its own vote"):
        d.vote(db, "c1", matter.id, phoned, d.Choice.FOR, now=T0)
    assert d.get(db, "c1", matter.id).tally.cast == 0


def test_a_household_outside_the_matter_is_not_recorded(db: Conn) -> None:
    matter = lift(db)
    d.open_matter(db, "c1", matter.id, now=T0)
    with pytest.raises(d.NotEntitled, match="neither affected by nor invited"):
        d.give_opinion(db, "c1", matter.id, d.HouseholdVoice(ELSEWHERE, "u"), "x", now=T0)


def test_a_changeable_vote_is_replaced_and_parties_vote_when_the_matter_says(
    db: Conn, resident: Link
) -> None:
    a = resident("3-1-101")
    matter = lift(db, votes_changeable=True, organisations_vote=True, quorum=Fraction(0))
    d.add_participants(db, "c1", matter.id, parties=["p-owners"], actor="u", now=T0)
    d.open_matter(db, "c1", matter.id, now=T0)
    d.start_voting(db, "c1", matter.id, now=T0)
    d.vote(db, "c1", matter.id, a, d.Choice.FOR, now=T0)
    again, first = d.vote(db, "c1", matter.id, a, d.Choice.AGAINST, now=T0)
    assert not first
    assert (again.tally.votes_for, again.tally.votes_against) == (0, 1)
    owners = d.PartyVoice("p-owners", recorded_by="u-admin")
    after, _ = d.vote(db, "c1", matter.id, owners, d.Choice.ABSTAIN, now=T0)
    t = after.tally
    assert (t.electorate, t.votes_for, t.votes_against, t.abstentions) == (2, 0, 1, 1)
    decided = d.close_voting(db, "c1", matter.id, decision="No lift.", actor="u", now=T0)
    assert decided.outcome is d.Outcome.REJECTED


@pytest.mark.parametrize(
    ("electorate", "votes", "quorum", "outcome"),
    [
        (3, (2, 0, 0), "2/3", d.Outcome.PASSED),  # two of three is two thirds
        (4, (2, 0, 0), "2/3", d.Outcome.NO_QUORUM),
        (4, (2, 2, 0), "1/2", d.Outcome.REJECTED),  # a tie is no majority
        (5, (2, 1, 1), "1/2", d.Outcome.REJECTED),  # abstentions are votes cast
        (5, (3, 1, 1), "1/2", d.Outcome.PASSED),
        (0, (0, 0, 0), "0", d.Outcome.REJECTED),  # nobody to vote, nobody for
    ],
)
def test_the_majority_rule_of_votes_cast_with_a_quorum(
    electorate: int, votes: tuple[int, int, int], quorum: str, outcome: d.Outcome
) -> None:
    tally = d.Tally(electorate, *votes, quorum=d.parse_quorum(quorum))
    assert tally.outcome is outcome


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "title"),
        ({"agenda": ("x",) * 21}, "agenda"),
        ({"quorum": Fraction(3, 2)}, "quorum"),
    ],
)
def test_a_draft_that_cannot_be_is_refused(changes: dict[str, Any], field: str) -> None:
    base: dict[str, Any] = {"compound": "c1", "title": "t", "description": "d"}
    with pytest.raises(d.InvalidMatter) as refused:
        d.Draft(**(base | changes))
    assert refused.value.field == field


def test_a_scope_the_registry_does_not_know_is_refused(db: Conn) -> None:
    for changes, why in (
        ({"buildings": ("9",)}, "buildings: not in c1: 9"),
        ({"flats": ("3-9-999",)}, "no such household: 3-9-999"),
    ):
        with pytest.raises(d.InvalidMatter, match=why):
            lift(db, **changes)
    with pytest.raises(d.InvalidMatter, match="quorum"):
        d.parse_quorum("two thirds")
    matter = lift(db)
    with pytest.raises(d.InvalidMatter, match="no party 'p-nobody'"):
        d.add_participants(db, "c1", matter.id, parties=["p-nobody"], actor="u", now=T0)
