"""Deliberations in SQL: create, the steps of a matter's life, participants, opinions,
votes, the tally and the decision, its publication through `announce`, and the cases
that point to a matter. The affected households are the registry's (its public reads),
resolved when asked; who speaks for a household is read from `deliberation_voters`
(this package's view of the confirmed resident links) inside the transaction that
records the voice, so a link withdrawn a moment before counts for nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import announce
import cases
import registry
from deliberation._db import Conn, transaction
from deliberation._errors import (
    AlreadyVoted,
    InvalidMatter,
    MatterNotFound,
    NotEntitled,
    WrongStage,
)
from deliberation._model import (
    MAX_DECISION,
    MAX_OPINION,
    Choice,
    Draft,
    Matter,
    Opinion,
    Outcome,
    Participant,
    Status,
    Tally,
    check_text,
)

# The registry's pages are read this many households at a time.
PAGE = 1000
# How long the published decision stays on the affected households' pages: a month is
# time enough for everyone to have seen it; the archive keeps it afterwards.
DECISION_NOTICE = timedelta(days=30)

_COLUMNS = (
    "id, compound_id, title, description, agenda, buildings, flats, quorum_num, quorum_den,"
    " organisations_vote, votes_changeable, status, created_by, created_at, opened_at,"
    " voting_at, decided_at, decided_by, decision, outcome, electorate, votes_for,"
    " votes_against, abstentions, announcement_id, published_at, archived_at"
)


@dataclass(frozen=True, slots=True)
class ResidentVoice:
    """A resident speaking for their household (its confirmed link is checked)."""

    resident_id: int

    @property
    def ref(self) -> str:
        return f"res-{self.resident_id}"


@dataclass(frozen=True, slots=True)
class PartyVoice:
    """A listed party's opinion or vote, recorded by the staff member running the matter."""

    party: str
    recorded_by: str


@dataclass(frozen=True, slots=True)
class HouseholdVoice:
    """A household's opinion as it gave it to the staff member running the matter (by
    phone, at the desk, on a visit): an opinion only, never a vote, which is the
    household's own to cast."""

    flat: str
    recorded_by: str


Voice = ResidentVoice | PartyVoice | HouseholdVoice


def households(conn: Conn, compound: str) -> set[str]:
    """The compound's households (their flats), through the registry's public reads."""
    found: set[str] = set()
    offset = 0
    while True:
        rows, total = registry.household_page(
            conn, registry.EVERYTHING, compound=compound, tag=None, limit=PAGE, offset=offset
        )
        found.update(str(r["flat"]) for r in rows)
        offset += PAGE
        if offset >= total or not rows:
            return found


def affected(conn: Conn, m: Matter) -> list[str]:
    """The flats of the households a matter affects, in order."""
    return sorted(f for f in households(conn, m.compound) if m.affects(f))


def create(
    conn: Conn, draft: Draft, *, parties: Sequence[str] = (), actor: str, now: datetime
) -> Matter:
    """Store a draft whose compound, buildings and flats the registry knows, with the
    parties taking part (the registry's, by id)."""
    _check_scope(conn, draft)
    named = _parties(conn, draft.compound, parties)
    with transaction(conn):
        row = conn.execute(
            "INSERT INTO deliberations (compound_id, title, description, agenda, buildings,"
            " flats, quorum_num, quorum_den, organisations_vote, votes_changeable,"
            " created_by, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (
                draft.compound,
                draft.title,
                draft.description,
                list(draft.agenda),
                list(draft.buildings),
                list(draft.flats),
                draft.quorum.numerator,
                draft.quorum.denominator,
                draft.organisations_vote,
                draft.votes_changeable,
                actor,
                now,
            ),
        ).fetchone()
        assert row is not None
        _add(conn, int(row[0]), named, actor, now)
    return get(conn, draft.compound, int(row[0]))


def _check_scope(conn: Conn, draft: Draft) -> None:
    if draft.compound not in registry.compound_ids(conn):
        raise InvalidMatter("compound", f"no compound {draft.compound!r}")
    unknown = sorted(
        b for b in set(draft.buildings) if not registry.has_building(conn, draft.compound, b)
    )
    if unknown:
        raise InvalidMatter("buildings", f"not in {draft.compound}: {', '.join(unknown)}")
    missing = sorted(set(draft.flats) - households(conn, draft.compound))
    if missing:
        raise InvalidMatter("flats", f"no such household: {', '.join(missing[:10])}")


def get(conn: Conn, compound: str, matter_id: int) -> Matter:
    with transaction(conn):
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM deliberations WHERE id = %s AND compound_id = %s",
            (matter_id, compound),
        ).fetchone()
        if row is None:
            raise MatterNotFound(matter_id)
        return _matter(conn, row)


def listed(
    conn: Conn,
    compound: str,
    *,
    status: Status | None = None,
    case_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Matter], int]:
    """A compound's matters, newest first; by status, or the one a case points to."""
    where = (
        "compound_id = %(c)s AND (%(s)s::text IS NULL OR status = %(s)s)"
        " AND (%(case)s::bigint IS NULL OR id IN"
        " (SELECT deliberation_id FROM deliberation_cases WHERE case_id = %(case)s))"
    )
    params = {"c": compound, "s": status, "case": case_id, "limit": limit, "offset": offset}
    with transaction(conn):
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM deliberations WHERE {where}"
            " ORDER BY created_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s",
            params,
        ).fetchall()
        total = conn.execute(f"SELECT count(*) FROM deliberations WHERE {where}", params)
        count = total.fetchone()
        found = [_matter(conn, r) for r in rows]
    return found, int(count[0]) if count else 0


def household_of(conn: Conn, resident_id: int) -> tuple[str, str] | None:
    """The (compound, flat) a resident's confirmed link names, or None."""
    with transaction(conn):
        row = conn.execute(
            "SELECT compound_id, flat FROM deliberation_voters WHERE resident_id = %s",
            (resident_id,),
        ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def for_household(conn: Conn, compound: str, flat: str) -> list[Matter]:
    """The matters past their draft that affect a household or invite it, newest first."""
    with transaction(conn):
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM deliberations WHERE compound_id = %s AND status <> 'draft'"
            " ORDER BY created_at DESC, id DESC",
            (compound,),
        ).fetchall()
        found = [_matter(conn, r) for r in rows]
    return [m for m in found if m.affects(flat) or m.invited(flat)]


def ballot(conn: Conn, matter_id: int, kind: str, voter: str) -> Choice | None:
    """The choice a household or party cast on a matter, if it voted."""
    with transaction(conn):
        row = conn.execute(
            "SELECT choice FROM deliberation_votes WHERE deliberation_id = %s"
            " AND voter_kind = %s AND voter = %s",
            (matter_id, kind, voter),
        ).fetchone()
    return None if row is None else Choice(row[0])


# --- the steps of a matter's life ------------------------------------------------------


def open_matter(conn: Conn, compound: str, matter_id: int, *, now: datetime) -> Matter:
    """Draft -> open: the affected households see it and opinions are collected."""
    return _advance(conn, compound, matter_id, Status.DRAFT, Status.OPEN, {"opened_at": now})


def start_voting(conn: Conn, compound: str, matter_id: int, *, now: datetime) -> Matter:
    """Open -> voting: opinions are closed; the entitled households vote."""
    return _advance(conn, compound, matter_id, Status.OPEN, Status.VOTING, {"voting_at": now})


def close_voting(
    conn: Conn, compound: str, matter_id: int, *, decision: str, actor: str, now: datetime
) -> Matter:
    """Voting -> decided: the tally is counted now and recorded with the decision."""
    check_text("decision", decision, MAX_DECISION)
    with transaction(conn):
        found = _locked(conn, compound, matter_id)
        _expect(found, Status.VOTING, "voting closes only while it is open")
        tally = _running_tally(conn, found)
        conn.execute(
            "UPDATE deliberations SET status = 'decided', decided_at = %s, decided_by = %s,"
            " decision = %s, outcome = %s, electorate = %s, votes_for = %s,"
            " votes_against = %s, abstentions = %s WHERE id = %s",
            (
                now,
                actor,
                decision,
                tally.outcome.value,
                tally.electorate,
                tally.votes_for,
                tally.votes_against,
                tally.abstentions,
                matter_id,
            ),
        )
    return get(conn, compound, matter_id)


def publish(conn: Conn, compound: str, matter_id: int, *, actor: str, now: datetime) -> Matter:
    """The decision, as an announcement to the affected households, once."""
    found = get(conn, compound, matter_id)
    _expect(found, Status.DECIDED, "a decision is published once it is recorded")
    if found.published_at is not None:
        raise WrongStage(matter_id, found.status.value, "its decision is published already")
    notice = announce.publish(
        conn,
        announce.Draft(
            compound=compound,
            title=found.title,
            body=_notice_body(found),
            starts_at=now,
            ends_at=now + DECISION_NOTICE,
            buildings=found.buildings,
            flats=found.flats,
        ),
        actor=actor,
        now=now,
    )
    with transaction(conn):
        done = conn.execute(
            "UPDATE deliberations SET announcement_id = %s, published_at = %s"
            " WHERE id = %s AND published_at IS NULL RETURNING id",
            (notice.id, now, matter_id),
        ).fetchone()
    if done is None:  # published by someone else meanwhile: ours is withdrawn
        announce.withdraw(conn, compound, notice.id, now=now)
        raise WrongStage(matter_id, found.status.value, "its decision is published already")
    return get(conn, compound, matter_id)


def _notice_body(m: Matter) -> str:
    t = m.tally
    words = {Outcome.PASSED: "通过", Outcome.REJECTED: "未通过", Outcome.NO_QUORUM: "未达法定人数"}
    assert m.outcome is not None
    assert m.decision is not None
    tally = (
        f"表决结果: {words[m.outcome]}. 同意 {t.votes_for}, 反对 {t.votes_against},"
        f" 弃权 {t.abstentions}; 应参与 {t.electorate}, 法定人数 {t.quorum}."
    )
    body = f"{m.decision}\n\n{tally}"
    return body[: announce.MAX_BODY]


def archive(conn: Conn, compound: str, matter_id: int, *, actor: str, now: datetime) -> Matter:
    """Decided and published -> archived: read-only from now on."""
    with transaction(conn):
        found = _locked(conn, compound, matter_id)
        _expect(found, Status.DECIDED, "only a decided matter is archived")
        if found.published_at is None:
            raise WrongStage(
                matter_id, found.status.value, "publish the decision to the households first"
            )
        conn.execute(
            "UPDATE deliberations SET status = 'archived', archived_at = %s, archived_by = %s"
            " WHERE id = %s",
            (now, actor, matter_id),
        )
    return get(conn, compound, matter_id)


def add_participants(
    conn: Conn,
    compound: str,
    matter_id: int,
    *,
    parties: Sequence[str] = (),
    flats: Sequence[str] = (),
    actor: str,
    now: datetime,
) -> Matter:
    """Parties of the registry and invited households, while the matter is prepared or
    open (the electorate is settled when voting starts)."""
    named = _parties(conn, compound, parties)
    missing = sorted(set(flats) - households(conn, compound)) if flats else []
    if missing:
        raise InvalidMatter("flats", f"no such household: {', '.join(missing[:10])}")
    named += [("household", f, f) for f in dict.fromkeys(flats)]
    with transaction(conn):
        found_matter = _locked(conn, compound, matter_id)
        _expect(
            found_matter,
            (Status.DRAFT, Status.OPEN),
            "participants are added while it is prepared or open",
        )
        _add(conn, matter_id, named, actor, now)
    return get(conn, compound, matter_id)


def _parties(conn: Conn, compound: str, parties: Sequence[str]) -> list[tuple[str, str, str]]:
    """The parties as participants (kind, id, the registry's name), or InvalidMatter."""
    named = []
    for p in dict.fromkeys(parties):
        found = registry.party(conn, compound, p)
        if found is None:
            raise InvalidMatter("parties", f"no party {p!r} serves {compound}")
        named.append(("party", p, str(found["name"])))
    return named


def _add(
    conn: Conn, matter_id: int, named: Sequence[tuple[str, str, str]], actor: str, now: datetime
) -> None:
    for kind, ref, name in named:
        conn.execute(
            "INSERT INTO deliberation_participants (deliberation_id, kind, ref, name,"
            " added_by, added_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (matter_id, kind, ref, name, actor, now),
        )


def link_case(
    conn: Conn, compound: str, matter_id: int, case_id: int, *, actor: str, now: datetime
) -> Matter:
    """A case of the same compound points to this matter (a case points to one at most;
    linking it again moves its pointer). Allowed at any stage: the pointer is the case's."""
    found_case = cases.get_case(conn, case_id)
    if found_case.compound != compound:
        raise InvalidMatter("case_id", f"case {case_id} is not a case of {compound}")
    with transaction(conn):
        _locked(conn, compound, matter_id)
        conn.execute(
            "INSERT INTO deliberation_cases (case_id, deliberation_id, linked_by, linked_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (case_id) DO UPDATE SET"
            " deliberation_id = excluded.deliberation_id, linked_by = excluded.linked_by,"
            " linked_at = excluded.linked_at",
            (case_id, matter_id, actor, now),
        )
    return get(conn, compound, matter_id)


# --- voices: opinions and votes ---------------------------------------------------------


def give_opinion(
    conn: Conn,
    compound: str,
    matter_id: int,
    voice: Voice,
    body: str,
    *,
    agenda_item: int | None = None,
    now: datetime,
) -> Opinion:
    """An opinion while the matter is open, from a resident of an affected or invited
    household, or from a listed party."""
    check_text("body", body, MAX_OPINION)
    with transaction(conn):
        found = _locked(conn, compound, matter_id, share=True)
        _expect(found, Status.OPEN, "opinions are collected while it is open")
        if agenda_item is not None and not 1 <= agenda_item <= len(found.agenda):
            raise InvalidMatter("agenda_item", f"the agenda has {len(found.agenda)} items")
        kind, author, recorded_by = _speaker(conn, found, voice, voting=False)
        row = conn.execute(
            "INSERT INTO deliberation_opinions (deliberation_id, author_kind, author,"
            " agenda_item, body, recorded_by, at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id",
            (matter_id, kind, author, agenda_item, body, recorded_by, now),
        ).fetchone()
    assert row is not None
    mine = get(conn, compound, matter_id).opinions
    return next(o for o in mine if o.id == int(row[0]))


def vote(
    conn: Conn, compound: str, matter_id: int, voice: Voice, choice: Choice, *, now: datetime
) -> tuple[Matter, bool]:
    """One vote per entitled household (or voting party) while voting is open. A second
    vote replaces the first when the matter's votes are changeable and is refused
    otherwise. Returns the matter and whether this was the voter's first vote."""
    with transaction(conn):
        found = _locked(conn, compound, matter_id, share=True)
        _expect(found, Status.VOTING, "votes are taken while voting is open")
        kind, voter, recorded_by = _speaker(conn, found, voice, voting=True)
        first = conn.execute(
            "INSERT INTO deliberation_votes (deliberation_id, voter_kind, voter, choice,"
            " recorded_by, cast_at) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING voter",
            (matter_id, kind, voter, choice.value, recorded_by, now),
        ).fetchone()
        if first is None:
            if not found.votes_changeable:
                raise AlreadyVoted(matter_id, voter)
            conn.execute(
                "UPDATE deliberation_votes SET choice = %s, recorded_by = %s, changed_at = %s"
                " WHERE deliberation_id = %s AND voter_kind = %s AND voter = %s",
                (choice.value, recorded_by, now, matter_id, kind, voter),
            )
    return get(conn, compound, matter_id), first is not None


def _speaker(conn: Conn, m: Matter, voice: Voice, *, voting: bool) -> tuple[str, str, str]:
    """(kind, the household's flat or the party's id, who recorded it), or NotEntitled."""
    if isinstance(voice, PartyVoice):
        if not any(p.ref == voice.party for p in m.parties):
            raise NotEntitled(f"party {voice.party}", f"not a participant of deliberation {m.id}")
        if voting and not m.organisations_vote:
            raise NotEntitled(
                f"party {voice.party}", "on this matter only the affected households vote"
            )
        return "party", voice.party, voice.recorded_by
    if isinstance(voice, HouseholdVoice):
        if voting:
            raise NotEntitled(
                f"household {voice.flat}", "a household casts its own vote, staff do not"
            )
        if not (m.affects(voice.flat) or m.invited(voice.flat)):
            raise NotEntitled(
                f"household {voice.flat}", f"neither affected by nor invited to deliberation {m.id}"
            )
        if voice.flat not in households(conn, m.compound):
            raise InvalidMatter("household", f"no such household: {voice.flat}")
        return "household", voice.flat, voice.recorded_by
    row = conn.execute(
        "SELECT compound_id, flat FROM deliberation_voters WHERE resident_id = %s",
        (voice.resident_id,),
    ).fetchone()
    if row is None:
        raise NotEntitled(voice.ref, "your household link is not confirmed yet")
    if str(row[0]) != m.compound:
        raise MatterNotFound(m.id)  # another compound's matter is none of theirs
    flat = str(row[1])
    if voting and not m.affects(flat):
        raise NotEntitled(
            f"household {flat}", f"not among the households deliberation {m.id} affects"
        )
    if not voting and not (m.affects(flat) or m.invited(flat)):
        raise NotEntitled(
            f"household {flat}", f"neither affected by nor invited to deliberation {m.id}"
        )
    return "household", flat, voice.ref


# --- reading back ------------------------------------------------------------------------


def _advance(
    conn: Conn,
    compound: str,
    matter_id: int,
    was: Status,
    to: Status,
    stamps: dict[str, datetime],
) -> Matter:
    sets = ", ".join(f"{column} = %({column})s" for column in stamps)
    with transaction(conn):
        found = _locked(conn, compound, matter_id)
        _expect(found, was, f"only a matter that is {was.value} becomes {to.value}")
        conn.execute(
            f"UPDATE deliberations SET status = %(to)s, {sets} WHERE id = %(id)s",
            {"to": to.value, "id": matter_id, **stamps},
        )
    return get(conn, compound, matter_id)


def _locked(conn: Conn, compound: str, matter_id: int, *, share: bool = False) -> Matter:
    """The matter, its row locked until the transaction ends (shared: votes and opinions
    go on side by side; a step of its life waits for them)."""
    lock = "FOR SHARE" if share else "FOR UPDATE"
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM deliberations WHERE id = %s AND compound_id = %s {lock}",
        (matter_id, compound),
    ).fetchone()
    if row is None:
        raise MatterNotFound(matter_id)
    return _matter(conn, row)


def _expect(m: Matter, status: Status | tuple[Status, ...], reason: str) -> None:
    if m.status not in (status if isinstance(status, tuple) else (status,)):
        if m.status is Status.ARCHIVED:
            reason = "an archived matter is read-only"
        raise WrongStage(m.id, m.status.value, reason)


def _running_tally(conn: Conn, m: Matter) -> Tally:
    counts: dict[str, int] = dict(
        conn.execute(
            "SELECT choice, count(*) FROM deliberation_votes WHERE deliberation_id = %s"
            " GROUP BY choice",
            (m.id,),
        ).fetchall()
    )
    return Tally(
        electorate=_electorate(conn, m),
        votes_for=int(counts.get("for", 0)),
        votes_against=int(counts.get("against", 0)),
        abstentions=int(counts.get("abstain", 0)),
        quorum=m.quorum,
    )


def _electorate(conn: Conn, m: Matter) -> int:
    """Affected households with a confirmed resident, and the parties if they vote."""
    linked = {
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT flat FROM deliberation_voters WHERE compound_id = %s", (m.compound,)
        ).fetchall()
    }
    homes = len(linked & set(affected(conn, m)))
    return homes + (len(m.parties) if m.organisations_vote else 0)


def _matter(conn: Conn, r: Sequence[Any]) -> Matter:
    matter_id = int(r[0])
    participants = tuple(
        Participant(kind=str(p[0]), ref=str(p[1]), name=str(p[2]), added_at=p[3])
        for p in conn.execute(
            "SELECT kind, ref, name, added_at FROM deliberation_participants"
            " WHERE deliberation_id = %s ORDER BY kind DESC, name, ref",
            (matter_id,),
        ).fetchall()
    )
    names = {p.ref: p.name for p in participants if p.kind == "party"}
    opinions = tuple(
        Opinion(
            id=int(o[0]),
            author_kind=str(o[1]),
            author=str(o[2]),
            author_name=names.get(str(o[2]), str(o[2])) if o[1] == "party" else str(o[2]),
            agenda_item=None if o[3] is None else int(o[3]),
            body=str(o[4]),
            recorded_by=str(o[5]),
            at=o[6],
        )
        for o in conn.execute(
            "SELECT id, author_kind, author, agenda_item, body, recorded_by, at"
            " FROM deliberation_opinions WHERE deliberation_id = %s ORDER BY at, id",
            (matter_id,),
        ).fetchall()
    )
    linked_cases = tuple(
        int(c[0])
        for c in conn.execute(
            "SELECT case_id FROM deliberation_cases WHERE deliberation_id = %s ORDER BY case_id",
            (matter_id,),
        ).fetchall()
    )
    bare = Matter(
        id=matter_id,
        compound=str(r[1]),
        title=str(r[2]),
        description=str(r[3]),
        agenda=tuple(r[4]),
        buildings=tuple(r[5]),
        flats=tuple(r[6]),
        quorum=Fraction(int(r[7]), int(r[8])),
        organisations_vote=bool(r[9]),
        votes_changeable=bool(r[10]),
        status=Status(r[11]),
        created_by=str(r[12]),
        created_at=r[13],
        opened_at=r[14],
        voting_at=r[15],
        decided_at=r[16],
        decided_by=r[17],
        decision=r[18],
        outcome=None if r[19] is None else Outcome(r[19]),
        tally=Tally(0, 0, 0, 0, Fraction(int(r[7]), int(r[8]))),
        announcement_id=None if r[24] is None else int(r[24]),
        published_at=r[25],
        archived_at=r[26],
        participants=participants,
        opinions=opinions,
        cases=linked_cases,
    )
    if r[20] is not None:
        recorded = Tally(int(r[20]), int(r[21]), int(r[22]), int(r[23]), bare.quorum)
        return _with_tally(bare, recorded)
    return _with_tally(bare, _running_tally(conn, bare))


def _with_tally(m: Matter, tally: Tally) -> Matter:
    return replace(m, tally=tally)
