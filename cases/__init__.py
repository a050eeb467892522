"""The governance loop: intake -> dispatch -> supervise -> feedback -> evaluate.

Cases are opened by the rule engine's alarms (`AlarmNotice`) or by people (`Report`),
dispatched by a routing table, handled through a state machine whose every transition
is an append-only record (`case_events`, also the live stream and MQTT), supervised
against an SLA table with an escalation ladder, rated by the reporter, and evaluated
by KPIs computed in SQL. `AlarmsToCases` is the rules' alarm sink that cases provide:
the product's main hand-off. Dispatch reads the registry through its public functions;
others read the cases through these (`get_case`, `case_events`, `list_cases` under a
reader's `registry.Scope`, `case_scopes`, `count_by_state`, `compound_cases`, ...), never in SQL.
Time always comes from a `domain.Clock` or a `now` argument.
"""

from cases._alarms import AlarmsToCases
from cases._errors import (
    AlreadyClaimed,
    CaseNotFound,
    CasesError,
    CaseStoreError,
    CaseValueRefused,
    DuplicateOpenCase,
    IllegalTransition,
    InvalidRequest,
    PolicyFileError,
    VersionConflict,
)
from cases._history import PastCase, copy_cases
from cases._kpis import Kpi, KpiDimension, kpis
from cases._model import (
    LADDER,
    OPEN_STATES,
    Action,
    ActionMode,
    AlarmCleared,
    AlarmNotice,
    Assignment,
    CancelReason,
    Case,
    CaseEvent,
    Channel,
    Intake,
    Report,
    Rung,
    Source,
    State,
    Transition,
)
from cases._policy import (
    ANY,
    DEFAULT_POLICY,
    DEFAULT_ROUTES,
    DEFAULT_SLA,
    REPORT_CATEGORIES,
    REPORT_CATEGORY_TITLES,
    RESIDENT_CATEGORIES,
    Deadlines,
    Policy,
    ResidentPolicy,
    load_policy,
)
from cases._reads import (
    ITER_BATCH,
    CaseFilter,
    CaseScope,
    case_scopes,
    count_by_state,
    elderly_alarm_cases,
    elderly_alarm_categories,
    event_head,
    iter_cases,
    list_cases,
)
from cases._states import allowed_in
from cases._store import events as case_events
from cases._store import get_case
from cases._store import merged_ids as merged_cases
from cases._stream import (
    NOTIFY_CHANNEL,
    NoPublisher,
    Publisher,
    event_document,
    topic_for,
)
from cases._summary import DUE_SOON, CompoundCases, SlaState, compound_cases
from cases._supervisor import Supervisor
from cases._workflow import Alongside, Workflow

__all__ = [
    "ANY",
    "DEFAULT_POLICY",
    "DEFAULT_ROUTES",
    "DEFAULT_SLA",
    "DUE_SOON",
    "ITER_BATCH",
    "LADDER",
    "NOTIFY_CHANNEL",
    "OPEN_STATES",
    "REPORT_CATEGORIES",
    "REPORT_CATEGORY_TITLES",
    "RESIDENT_CATEGORIES",
    "Action",
    "ActionMode",
    "AlarmCleared",
    "AlarmNotice",
    "AlarmsToCases",
    "Alongside",
    "AlreadyClaimed",
    "Assignment",
    "CancelReason",
    "Case",
    "CaseEvent",
    "CaseFilter",
    "CaseNotFound",
    "CaseScope",
    "CaseStoreError",
    "CaseValueRefused",
    "CasesError",
    "Channel",
    "CompoundCases",
    "Deadlines",
    "DuplicateOpenCase",
    "IllegalTransition",
    "Intake",
    "InvalidRequest",
    "Kpi",
    "KpiDimension",
    "NoPublisher",
    "PastCase",
    "Policy",
    "PolicyFileError",
    "Publisher",
    "Report",
    "ResidentPolicy",
    "Rung",
    "SlaState",
    "Source",
    "State",
    "Supervisor",
    "Transition",
    "VersionConflict",
    "Workflow",
    "allowed_in",
    "case_events",
    "case_scopes",
    "compound_cases",
    "copy_cases",
    "count_by_state",
    "elderly_alarm_cases",
    "elderly_alarm_categories",
    "event_document",
    "event_head",
    "get_case",
    "iter_cases",
    "kpis",
    "list_cases",
    "load_policy",
    "merged_cases",
    "topic_for",
]
