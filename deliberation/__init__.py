"""Resident deliberation (民主议事厅): a matter too big for one party (a parking plan, a
lift installation) deliberated by the households it affects and the parties concerned.

A matter (`Draft`: title, description, agenda, affected scope - the whole compound, some
buildings or some households - a quorum and whether parties vote and votes may change)
goes draft -> open -> voting -> decided -> archived (`create`, `open_matter`,
`start_voting`, `close_voting`, `archive`). Participants are the registry's parties and
invited households (`add_participants`). While it is open, residents of affected or
invited households and the listed parties give opinions (`give_opinion`; staff record a
party's, or a household's given to them, as `PartyVoice`/`HouseholdVoice`); while voting,
each affected household with a confirmed resident votes once (`vote`; the household's
vote is replaced by a later one only if the matter says votes are changeable), and so
does each listed party when the matter says so. Closing the vote records the tally and
its majority-rule outcome (`Tally`) with the decision; `publish` sends it as an
announcement (`announce`) to the affected households, and an archived matter is
read-only. A case may point to a matter (`link_case`). The package owns its tables and
the view `deliberation_voters` of residents' confirmed links (migrations 0035-0036);
the registry, cases and announcements are used through their public functions."""

from deliberation._errors import (
    AlreadyVoted,
    DeliberationError,
    DeliberationStoreError,
    InvalidMatter,
    MatterNotFound,
    NotEntitled,
    WrongStage,
)
from deliberation._model import (
    DEFAULT_QUORUM,
    MAX_AGENDA,
    MAX_AGENDA_ITEM,
    MAX_DECISION,
    MAX_DESCRIPTION,
    MAX_OPINION,
    MAX_TARGETS,
    MAX_TITLE,
    Choice,
    Draft,
    Matter,
    Opinion,
    Outcome,
    Participant,
    Status,
    Tally,
    parse_quorum,
)
from deliberation._store import (
    DECISION_NOTICE,
    HouseholdVoice,
    PartyVoice,
    ResidentVoice,
    Voice,
    add_participants,
    affected,
    archive,
    ballot,
    close_voting,
    create,
    for_household,
    get,
    give_opinion,
    household_of,
    link_case,
    listed,
    open_matter,
    publish,
    start_voting,
    vote,
)

__all__ = [
    "DECISION_NOTICE",
    "DEFAULT_QUORUM",
    "MAX_AGENDA",
    "MAX_AGENDA_ITEM",
    "MAX_DECISION",
    "MAX_DESCRIPTION",
    "MAX_OPINION",
    "MAX_TARGETS",
    "MAX_TITLE",
    "AlreadyVoted",
    "Choice",
    "DeliberationError",
    "DeliberationStoreError",
    "Draft",
    "HouseholdVoice",
    "InvalidMatter",
    "Matter",
    "MatterNotFound",
    "NotEntitled",
    "Opinion",
    "Outcome",
    "Participant",
    "PartyVoice",
    "ResidentVoice",
    "Status",
    "Tally",
    "Voice",
    "WrongStage",
    "add_participants",
    "affected",
    "archive",
    "ballot",
    "close_voting",
    "create",
    "for_household",
    "get",
    "give_opinion",
    "household_of",
    "link_case",
    "listed",
    "open_matter",
    "parse_quorum",
    "publish",
    "start_voting",
    "vote",
]
