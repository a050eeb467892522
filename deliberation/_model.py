"""A deliberation as values: the draft staff create (validated when built), the matter
read back with its participants, opinions and tally, and the majority rule.

The rule: a vote counts when the votes cast (for, against and abstentions) reach the
matter's quorum of the electorate; it passes when more than half of the votes cast are
for (an abstention is a vote cast that is not for: "过半数同意" of those who took part).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from deliberation._errors import InvalidMatter

MAX_TITLE = 200
MAX_DESCRIPTION = 4000
MAX_DECISION = 4000
MAX_OPINION = 2000
# A meeting's agenda is a handful of points; more is several matters.
MAX_AGENDA = 20
MAX_AGENDA_ITEM = 500
# As announcements: a few stairwells' flats one by one; a larger scope is a building.
MAX_TARGETS = 500
# Two thirds of the electorate taking part, as the Civil Code (art. 278) asks of an
# owners' assembly: the default when a matter names no quorum of its own.
DEFAULT_QUORUM = Fraction(2, 3)


class Status(StrEnum):
    DRAFT = "draft"  # being prepared by staff; residents do not see it
    OPEN = "open"  # collecting opinions
    VOTING = "voting"
    DECIDED = "decided"  # the tally and the decision recorded; then published
    ARCHIVED = "archived"  # read-only


class Choice(StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"


class Outcome(StrEnum):
    PASSED = "passed"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"


def parse_quorum(text: str) -> Fraction:
    """ "2/3", "1/2" or "0.5": a share of the electorate between 0 and 1."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as exc:
        raise InvalidMatter("quorum", f"not a fraction such as 2/3: {text!r}") from exc
    if not 0 <= value <= 1:
        raise InvalidMatter("quorum", "a share of the electorate, between 0 and 1")
    if value.denominator > 1000:
        raise InvalidMatter("quorum", "at most three digits below the fraction bar")
    return value


@dataclass(frozen=True, slots=True)
class Draft:
    """A matter as staff prepare it. No buildings and no flats: the whole compound."""

    compound: str
    title: str
    description: str
    agenda: tuple[str, ...] = ()
    buildings: tuple[str, ...] = ()
    flats: tuple[str, ...] = ()
    quorum: Fraction = DEFAULT_QUORUM
    organisations_vote: bool = False
    votes_changeable: bool = False

    def __post_init__(self) -> None:
        for name, value, most in (
            ("title", self.title, MAX_TITLE),
            ("description", self.description, MAX_DESCRIPTION),
        ):
            check_text(name, value, most)
        if len(self.agenda) > MAX_AGENDA:
            raise InvalidMatter("agenda", f"at most {MAX_AGENDA} items")
        for item in self.agenda:
            check_text("agenda", item, MAX_AGENDA_ITEM)
        if len(self.buildings) + len(self.flats) > MAX_TARGETS:
            raise InvalidMatter("flats", f"at most {MAX_TARGETS} buildings and flats")
        if not 0 <= self.quorum <= 1:
            raise InvalidMatter("quorum", "a share of the electorate, between 0 and 1")


def check_text(name: str, value: str, most: int) -> None:
    """Free text as PostgreSQL keeps it: not blank, not too long, no NUL character."""
    if not value.strip():
        raise InvalidMatter(name, "must not be empty")
    if len(value) > most:
        raise InvalidMatter(name, f"at most {most} characters")
    if "\x00" in value:
        raise InvalidMatter(name, "must not contain a NUL character")


@dataclass(frozen=True, slots=True)
class Participant:
    kind: str  # party or household
    ref: str  # the party's id or the household's flat
    name: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Opinion:
    id: int
    author_kind: str  # party or household
    author: str  # the party's id or the household's flat
    author_name: str  # the party's name, or the flat
    agenda_item: int | None
    body: str
    recorded_by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Tally:
    electorate: int  # affected households with a confirmed resident, and voting parties
    votes_for: int
    votes_against: int
    abstentions: int
    quorum: Fraction

    @property
    def cast(self) -> int:
        return self.votes_for + self.votes_against + self.abstentions

    @property
    def quorate(self) -> bool:
        return self.cast * self.quorum.denominator >= self.quorum.numerator * self.electorate

    @property
    def outcome(self) -> Outcome:
        if not self.quorate:
            return Outcome.NO_QUORUM
        return Outcome.PASSED if 2 * self.votes_for > self.cast else Outcome.REJECTED


@dataclass(frozen=True, slots=True)
class Matter:
    id: int
    compound: str
    title: str
    description: str
    agenda: tuple[str, ...]
    buildings: tuple[str, ...]
    flats: tuple[str, ...]
    quorum: Fraction
    organisations_vote: bool
    votes_changeable: bool
    status: Status
    created_by: str
    created_at: datetime
    opened_at: datetime | None
    voting_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision: str | None
    outcome: Outcome | None
    tally: Tally  # the recorded one once decided, else the running count
    announcement_id: int | None
    published_at: datetime | None
    archived_at: datetime | None
    participants: tuple[Participant, ...]
    opinions: tuple[Opinion, ...]
    cases: tuple[int, ...]

    @property
    def whole_compound(self) -> bool:
        return not self.buildings and not self.flats

    def affects(self, flat: str) -> bool:
        """Whether the household at `flat` is in the matter's affected scope."""
        return self.whole_compound or flat in self.flats or flat.split("-", 1)[0] in self.buildings

    def invited(self, flat: str) -> bool:
        return any(p.kind == "household" and p.ref == flat for p in self.participants)

    @property
    def parties(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.kind == "party")
