"""The API's request and response bodies: a family per resource (`XCreate`, `XUpdate`,
`XPublic`, `XsPublic{data, count}`), as in the full-stack FastAPI template."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain import (
    MAX_CONTACTS,
    Building,
    CommandBody,
    Device,
    HouseholdTag,
    Kind,
    Organisation,
    PartyKind,
    StaffRole,
    Unit,
)

T = TypeVar("T")

# Identifiers of the MQTT contract and the registry: refused early, with a clear detail.
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# A grid as "compound/grid": grid ids are unique only within a compound.
GridKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}$")]
Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
# Long enough to resist guessing when throttled; argon2 takes any length.
Password = Annotated[str, StringConstraints(min_length=12, max_length=256)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int  # all matches, not only this page


class CursorPage(Page[T], Generic[T]):
    """A page of a list walked by keyset: `next_cursor` asks for the page after this one
    (None: this is the last)."""

    next_cursor: str | None = None


class Message(BaseModel):
    detail: str


class RulePublic(BaseModel):
    """A rule of the catalogue as the dashboard names it: its title in each language."""

    id: str
    severity: str
    enabled: bool
    title: dict[Literal["en", "zh"], str]


# --- auth and users ---------------------------------------------------------------------


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class UserCreate(_Body):
    username: Username
    password: Password
    role: StaffRole
    grids: list[GridKey] = Field(default_factory=list, max_length=100)
    staff_id: Ident | None = None
    # The staff member's compound (staff ids repeat across compounds); may be left out
    # when only one compound has a member of that id.
    staff_compound: Ident | None = None
    # The organisation the account belongs to; left out: the creator's own.
    organisation: Ident | None = None


class UserUpdate(_Body):
    password: Password | None = None
    role: StaffRole | None = None
    grids: list[GridKey] | None = Field(default=None, max_length=100)
    active: bool | None = None


class UserPublic(BaseModel):
    username: str
    role: StaffRole
    grids: list[str]  # "compound/grid"
    staff_id: str | None
    staff_compound: str | None
    active: bool
    created_at: datetime
    organisation: str = Field(validation_alias=AliasChoices("organisation", "organisation_id"))


UsersPublic = Page[UserPublic]


# --- devices, telemetry, events, alarms -------------------------------------------------


class DevicePublic(BaseModel):
    id: str
    compound: str
    kind: Kind
    model: str
    name: str | None
    address: str | None
    grid: str | None
    online: bool
    last_seen: datetime | None
    last_ts: datetime | None
    x: float | None = None  # plan position, metres east and north of the compound's origin
    y: float | None = None


DevicesPublic = CursorPage[DevicePublic]


class DeviceCreate(BaseModel):
    """A device to provision: the compound file's device entry and its compound."""

    model_config = ConfigDict(extra="forbid")

    compound: Ident
    device: Device


class DeviceProvisioned(BaseModel):
    id: str
    compound: str
    kind: Kind
    # "created" / "deleted" on the broker, or "external": this deployment does not keep
    # the broker's accounts (DAYUAN_BROKER_ACCOUNTS=external, or a broker without any).
    broker_account: Literal["created", "deleted", "external"]


class LastValue(BaseModel):
    key: str
    value: float
    ts: datetime


class DeviceDetail(DevicePublic):
    heartbeat_s: int
    values: list[LastValue]  # the newest value of each key by the device's own ts
    redacted: bool = False  # health readings left out: the caller's role may not read them


class Bucket(BaseModel):
    ts: datetime
    avg: float
    min: float
    max: float
    samples: int


class Series(BaseModel):
    key: str
    device: str | None  # None: aggregated over the group
    points: list[Bucket]


class TelemetryPublic(BaseModel):
    bucket: str
    start: datetime
    end: datetime
    devices: int  # how many devices the series cover
    series: list[Series]
    redacted: bool = False  # elderly devices' health series left out for the caller's role


class EventPublic(BaseModel):
    device_id: str
    compound: str
    kind: Kind
    ts: datetime
    type: str
    seq: int | None
    channel: str
    data: dict[str, Any]
    received_at: datetime
    redacted: bool = False  # an elderly-care event: its data withheld from the caller's role


EventsPublic = CursorPage[EventPublic]


class AlarmPublic(BaseModel):
    id: int
    rule_id: str
    title: str
    severity: str
    compound: str
    device_id: str | None
    flat: str | None
    subject: str
    count: int
    first_seen: datetime
    last_seen: datetime
    opened_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    flapping: bool
    values: dict[str, Any]
    elderly_care: bool = False  # an elderly-care device's or flat's alarm
    redacted: bool = False  # its trigger values (health readings) withheld from the caller


AlarmsPublic = CursorPage[AlarmPublic]


class ReasonCount(BaseModel):
    reason: str
    count: int


class DeadLetterPublic(BaseModel):
    id: int
    received_at: datetime
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload_preview: str  # the first bytes as text, undecodable bytes replaced; empty for face data
    payload_size: int
    refused: int  # objects this row stands for: refused elements, or suppressed dead letters
    elements: list[tuple[int, str]] | None  # [index, reason] of the first refused elements


class DeadLettersPublic(BaseModel):
    start: datetime
    end: datetime
    counts: list[ReasonCount]
    samples: list[DeadLetterPublic]


# --- device commands --------------------------------------------------------------------


class CommandCreate(_Body):
    command: CommandBody
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class CommandPublic(BaseModel):
    id: int
    correlation_id: str
    device_id: str
    action: str
    command: dict[str, Any]
    status: Literal["sent", "acknowledged", "failed"]
    result: str | None
    detail: str | None
    requested_by: str
    created_at: datetime
    deadline: datetime
    completed_at: datetime | None


CommandsPublic = Page[CommandPublic]


# --- the registry -----------------------------------------------------------------------


class CompoundPublic(BaseModel):
    id: str
    name: str
    lat: float
    lon: float
    timezone: str
    devices: int


CompoundsPublic = Page[CompoundPublic]


class BuildingPublic(BaseModel):
    compound: str
    id: str
    name: str | None
    floors: int | None
    grid: str | None
    # The plan: the centre in metres east and north of the compound's origin, and size.
    x: float | None = None
    y: float | None = None
    width: float | None = None
    depth: float | None = None


BuildingsPublic = Page[BuildingPublic]


class FlatPublic(BaseModel):
    compound: str
    address: str
    building: str
    unit: str | None


FlatsPublic = Page[FlatPublic]


class HouseholdPublic(BaseModel):
    compound: str
    flat: str
    tags: list[HouseholdTag]


HouseholdsPublic = CursorPage[HouseholdPublic]


class ResidentPublic(BaseModel):
    compound: str
    ref: str
    flat: str
    birth_year: int | None
    lives_alone: bool


ResidentsPublic = CursorPage[ResidentPublic]


class ResidentDetails(ResidentPublic):
    contact: str | None
    health_notes: str | None


class GridPublic(BaseModel):
    compound: str
    id: str
    name: str | None
    buildings: list[str]
    team: dict[str, list[str]]  # role -> staff ids (cadre, community_worker, volunteer)


GridsPublic = Page[GridPublic]


class PartyPublic(BaseModel):
    compound: str
    id: str
    kind: PartyKind
    name: str


PartiesPublic = Page[PartyPublic]


class StaffPublic(BaseModel):
    compound: str
    id: str
    name: str
    role: StaffRole
    party: str | None
    grids: list[str]


StaffsPublic = Page[StaffPublic]


# --- registry maintenance ---------------------------------------------------------------

Contact = Annotated[str, StringConstraints(min_length=1, max_length=200)]
HealthNotes = Annotated[str, StringConstraints(max_length=2000)]


class HouseholdUpdate(_Body):
    tags: list[HouseholdTag] = Field(max_length=7)  # the whole set, replacing the old


class ResidentCreate(_Body):
    """Moving in: who (a pseudonymous ref) and where; details go through PUT .../details."""

    compound: Ident
    ref: Ident
    flat: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}-[A-Za-z0-9_]{1,16}$"),
    ]
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    lives_alone: bool = False


class ResidentDetailsUpdate(_Body):
    """The whole of a resident's details: a field left out is cleared."""

    contact: Contact | None = None
    health_notes: HealthNotes | None = None


class StaffPut(_Body):
    compound: Ident
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: StaffRole
    party: Ident | None = None
    grids: list[Ident] = Field(default_factory=list, max_length=100)


class CompoundPut(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    address: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "Asia/Shanghai"
    parking_spaces: Annotated[int, Field(ge=0, le=100_000)] = 0

    @model_validator(mode="after")
    def _known_zone(self) -> CompoundPut:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self


class BuildingPut(_Body):
    """A building with its units (stairwells) and their flats: the lists replace the
    current ones (a flat with a household is not removed: 422)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    floors: Annotated[int, Field(ge=1, le=100)] = 6
    x: Annotated[float, Field(ge=-100_000, le=100_000)] = 0.0
    y: Annotated[float, Field(ge=-100_000, le=100_000)] = 0.0
    width: Annotated[float, Field(gt=0, le=10_000)] = 12.0
    depth: Annotated[float, Field(gt=0, le=10_000)] = 60.0
    units: list[Unit] = Field(default_factory=list, max_length=50)

    def building(self, building_id: str) -> Building:
        return Building(id=building_id, **self.model_dump())


class GridPut(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    buildings: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,16}$")]] = Field(
        default_factory=list, max_length=500
    )


class CompoundChanged(BaseModel):
    compound: str
    id: str  # the compound's, building's or grid's
    created: bool


# A contact point as the compound file takes it (domain.ContactUrl); the route also asks
# notify whether a channel understands it.
ContactUrl = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9+.-]{0,31}://\S+$", max_length=2000)
]


class StaffContactsPut(_Body):
    """A staff member's contact points in order of preference (Apprise URLs); an empty
    list removes those set through the API, and the compound file's apply again."""

    contacts: list[ContactUrl] = Field(max_length=MAX_CONTACTS)


class StaffContactsPublic(BaseModel):
    """The contact points in use, as scheme and host only (a URL may carry a password)."""

    compound: str
    staff_id: str
    source: Literal["file", "api"]  # the compound file's, or set through the API
    channels: list[str]


HhMm = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class QuietHoursBody(BaseModel):
    """A nightly rest, wall-clock times of the compound's time zone (end <= start: it
    crosses midnight)."""

    model_config = ConfigDict(extra="forbid")
    start: HhMm
    end: HhMm


class StaffQuietHoursPut(_Body):
    """A staff member's quiet hours; null: none at all (whatever the compound file says).
    DELETE hands them back to the file's."""

    quiet_hours: QuietHoursBody | None


class StaffQuietHoursPublic(BaseModel):
    """The quiet hours in use: non-critical notifications wait for their end; an SOS, a
    fall and any critical case never do."""

    compound: str
    staff_id: str
    source: Literal["file", "api", "none"]  # the compound file's, set through the API, or neither
    quiet_hours: QuietHoursBody | None


class RegistryChangePublic(BaseModel):
    id: int
    at: datetime
    actor: str
    compound: str
    entity: str  # the table: households, residents, resident_details, staff, ...
    key: str
    change: Literal["added", "changed", "removed"]
    # The entry before and after; for resident_details only {"changed_fields": [...]}.
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class RegistryChangesPublic(BaseModel):
    data: list[RegistryChangePublic]
    next_after_id: int  # pass as `after_id` to read on (the same value when nothing came)


# --- organisations -----------------------------------------------------------------------

OrganisationKindText = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class OrganisationBody(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    # A word: property_company, elderly_care_centre, residents_committee,
    # owners_committee, community_police, social_organisation, subdistrict_office, ...
    kind: OrganisationKindText
    parent: Ident | None = None
    compounds: list[Ident] = Field(default_factory=list, max_length=2_000)

    def entry(self, organisation_id: str) -> Organisation:
        return Organisation(
            id=organisation_id,
            name=self.name,
            kind=self.kind,
            parent=self.parent,
            compounds=self.compounds,
        )


class OrganisationPublic(BaseModel):
    id: str
    name: str
    kind: str
    parent: str | None
    compounds: list[str]  # linked directly (those under it serve their own)


OrganisationsPublic = Page[OrganisationPublic]


class OrganisationChangesPublic(BaseModel):
    data: list[RegistryChangePublic]
    count: int


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    subject: str
    route: str
    reason: str | None
    client: str | None
    detail: dict[str, Any]


AuditsPublic = CursorPage[AuditPublic]


# --- cases ------------------------------------------------------------------------------

Note = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
Version = Annotated[int, Field(ge=1, le=2_000_000_000)]


class AssignmentPublic(BaseModel):
    party_kind: str
    party_id: str | None
    grid_id: str | None
    staff_id: str | None


class CasePublic(BaseModel):
    id: int
    compound: str
    source: str
    category: str
    severity: str
    title: str
    state: str
    version: int  # send it back with every action: a stale one gets 409
    opened_at: datetime
    ack_due: datetime
    resolve_due: datetime
    escalation_level: int
    # The ladder's rung it has climbed to: assignee, grid_lead, community, subdistrict.
    rung: Literal["assignee", "grid_lead", "community", "subdistrict"] = "assignee"
    description: str | None
    device_id: str | None
    flat: str | None
    location: str | None
    grid_id: str | None
    reporter: str | None
    alarm_count: int
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    escalations: int
    reopen_count: int
    first_responsible: str | None = None  # 首问负责: the first staff member who took it
    claimed_by: str | None = None  # the staff member who claimed it (认领)
    merged_into: int | None = None  # a merged duplicate: the case it lives on in


CasesPublic = CursorPage[CasePublic]


class CaseEventPublic(BaseModel):
    id: int
    version: int
    at: datetime
    actor: str
    transition: str
    from_state: str | None
    to_state: str
    detail: dict[str, Any]


class NotificationPublic(BaseModel):
    """One delivery of a case event to one person's contact point; `channel` is the
    contact URL's scheme and host only (the URL may hold a password or token)."""

    id: int
    case_event_id: int
    recipient: str
    channel: str | None
    state: Literal["queued", "sent", "failed", "acknowledged"]
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    acknowledged_at: datetime | None
    round: int  # 0: planned from the case event; n: the n-th repeat round
    answer: Literal["going", "cannot"] | None  # what its link's owner answered
    answered_at: datetime | None


class NotificationsPublic(BaseModel):
    data: list[NotificationPublic]
    count: int


class CaseNoticePublic(BaseModel):
    """A notification on the case timeline: a delivery (`recipient`, `channel` as scheme
    and host, `state`, `reason` when it failed or waits for a retry), a repeat round
    (`round`, everyone it went to in `told`, the people no earlier round reached in
    `added`) or an answer from a link (`recipient`, `answer`: going or cannot). Nothing
    of the case's category, title or readings: it shows to whoever sees the case."""

    at: datetime
    kind: Literal["notification", "repeat", "answer"]
    round: int
    recipient: str | None
    channel: str | None
    state: Literal["queued", "sent", "failed", "acknowledged"] | None
    reason: str | None
    attempts: int
    notification_id: int | None
    told: list[str]
    added: list[str]
    answer: Literal["going", "cannot"] | None


class CaseDetail(CasePublic):
    assignments: list[AssignmentPublic]
    history: list[CaseEventPublic]
    notices: list[CaseNoticePublic]  # its notifications, repeat rounds and answers
    allowed_actions: list[str]  # the action routes this case accepts in its state
    merged_cases: list[int]  # the duplicates merged into this case


class CaseCreate(_Body):
    """A resident's report taken at the desk or by phone, or a patrol finding. A phone
    call may leave the caller unnamed (`reporter` then `caller`) and gives a call-back
    number, kept apart from the case and read as an anonymous report's (audited)."""

    compound: Ident
    category: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,64}$")]
    description: Note
    # a resident's pseudonymous ref, or the patrolling staff member's id
    reporter: Ident | None = None
    source: Literal["resident", "patrol"] = "resident"
    location: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00]*$")] | None = None
    severity: Literal["critical", "major", "minor", "warning"] = "minor"
    channel: Literal["desk", "phone"] = "desk"
    callback: Annotated[str, StringConstraints(max_length=32)] | None = None

    @model_validator(mode="after")
    def _caller(self) -> CaseCreate:
        if self.channel == "phone" and self.source != "resident":
            raise ValueError("a phone call is a resident's report (source resident)")
        if self.callback is not None and self.channel != "phone":
            raise ValueError("a call-back number comes with a phone call (channel phone)")
        if self.reporter is None and self.channel != "phone":
            raise ValueError("reporter is required but for a phone call")
        return self


class CategoryPublic(BaseModel):
    id: str
    title: dict[str, str]  # {"zh": ..., "en": ...}


CategoriesPublic = Page[CategoryPublic]


class CaseActionBase(_Body):
    version: Version


class NoteAction(CaseActionBase):
    note: Note


class OptionalNoteAction(CaseActionBase):
    note: Note | None = None


class CloseAction(OptionalNoteAction):
    follow_up: bool = Field(
        False,
        description="close in the follow-up visit mode (复诊): a visit to the case's household"
        " is scheduled (the care programmes' follow-ups)",
    )


class ReasonAction(CaseActionBase):
    reason: Note


class RecordAction(CaseActionBase):
    mode: Literal[
        "desk_reception", "home_visit", "on_site_emergency", "joint_consultation", "follow_up_visit"
    ]
    note: Note
    participants: list[Ident] = Field(default_factory=list, max_length=50)
    decision: Note | None = None


class RateAction(CaseActionBase):
    rating: Annotated[int, Field(ge=1, le=5)]
    comment: Note | None = None
    # Taken in a phone call with the reporter: the only way staff rate a resident's report.
    by_phone: bool = False


class CancelAction(CaseActionBase):
    reason: Literal["duplicate", "not_responsible"]
    note: Note
    duplicate_of: Annotated[int, Field(ge=1, le=2**62)] | None = None


class RedispatchAction(CaseActionBase):
    """Every party replaced (the dispatch was wrong); registry party ids of the compound."""

    parties: list[Ident] = Field(min_length=1, max_length=6)
    reason: Note


class TakeOverAction(CaseActionBase):
    """The caller's organisation takes the case on, with the reason (on the timeline)."""

    reason: Note


class TransferAction(CaseActionBase):
    """One party's share handed to another; `from_kind` may be left out with one party."""

    party: Ident
    reason: Note
    from_kind: PartyKind | None = None


class AddPartyAction(CaseActionBase):
    party: Ident
    note: Note | None = None


class AssignAction(CaseActionBase):
    staff_id: Ident  # a registry staff member of one of the case's parties


class MergeAction(CaseActionBase):
    into: Annotated[int, Field(ge=1, le=2**62)]  # the open case of the compound it duplicates
    note: Note


class KpiPublic(BaseModel):
    key: str
    period: datetime | None
    received: int
    due: int
    closed: int
    closed_on_time: int
    closure_rate: float | None
    on_time_rate: float | None
    ack_mean_s: float | None
    ack_p90_s: float | None
    resolve_mean_s: float | None
    resolve_p90_s: float | None
    escalations: int
    rated: int
    satisfaction_mean: float | None
    satisfied_rate: float | None
    ack_median_s: float | None
    resolve_median_s: float | None


class CareGridKpiPublic(BaseModel):
    """A grid's care programmes (care.kpis_by_grid): due and overdue now, visits and
    meal deliveries in the KPIs' [from, to). Counts only."""

    key: str = Field(description='the grid as "compound/grid" ("compound/-": no grid)')
    compound: str
    grid: str | None
    plans_active: int
    visits_due: int = Field(description="plans and follow-ups due within a day")
    visits_overdue: int
    visits_recorded: int
    visits_on_time: int
    on_time_rate: float | None = Field(description="none when no visit was recorded")
    follow_ups_open: int
    deliveries_done: int
    deliveries_missed: int
    deliveries_unrecorded: int = Field(description="scheduled days with nothing recorded")


class KpisPublic(Page[KpiPublic]):
    care: list[CareGridKpiPublic] = Field(
        default_factory=list, description="the care programmes' figures, per grid in scope"
    )


# --- the compound plan (GET /compounds/{id}/plan) ----------------------------------------

DeviceState = Literal["ok", "alarming", "in_hand", "offline", "unseen"]
Placed = Literal["flat", "own", "unit", "building", "unplaced"]


class PlanBounds(BaseModel):
    x0: float
    y0: float
    x1: float
    y1: float


class PlanBuilding(BaseModel):
    id: str
    name: str | None
    floors: int | None
    grid: str | None
    x: float  # the centre, metres east and north; as drawn (see `layout`)
    y: float
    width: float
    depth: float
    units: list[str]


class PlanFlat(BaseModel):
    address: str
    building: str
    unit: str
    floor: int
    x: float  # the centre of the flat's cell on its building's footprint
    y: float
    width: float
    depth: float
    tags: list[HouseholdTag]  # the household's seven-colour tags
    alarms: list[int]  # open alarms of the flat itself (no device), ids
    cases: list[int]  # open cases of the flat itself (no device), ids


class PlanGrid(BaseModel):
    id: str
    name: str | None
    buildings: list[str]
    x0: float  # the box round its buildings
    y0: float
    x1: float
    y1: float


class PlanDevice(BaseModel):
    id: str
    kind: Kind
    model: str
    name: str | None
    address: str | None
    flat: str | None  # the flat whose cell it is drawn in
    grid: str | None
    x: float
    y: float
    placed: Placed  # where x/y come from
    state: DeviceState  # alarming > in_hand (its case worked) > unseen/offline/ok
    online: bool
    last_seen: datetime | None
    alarm_severity: str | None  # the worst of its open alarms
    alarms: list[int]  # open alarm ids
    cases: list[int]  # open case ids


class PlanDeviceState(BaseModel):
    id: str
    state: DeviceState
    online: bool
    last_seen: datetime | None
    alarm_severity: str | None
    alarms: list[int]
    cases: list[int]


class PlanAlarm(BaseModel):
    id: int
    rule_id: str
    title: str
    severity: str
    device_id: str | None
    flat: str | None
    opened_at: datetime


class PlanCase(BaseModel):
    id: int
    state: str
    severity: str
    category: str
    title: str
    device_id: str | None
    flat: str | None


class PlanPublic(BaseModel):
    compound: str
    name: str
    layout: Literal["registry", "auto"]  # auto: the registry's buildings overlapped
    bounds: PlanBounds
    buildings: list[PlanBuilding]
    flats: list[PlanFlat]
    grids: list[PlanGrid]
    devices: list[PlanDevice]
    alarms: list[PlanAlarm]  # open ones
    cases: list[PlanCase]  # open ones
    count: int  # devices
    truncated: bool  # more open alarms or cases than drawn
    at: datetime


class PlanStatesPublic(BaseModel):
    data: list[PlanDeviceState]
    count: int
    at: datetime
