"""The governance loop: intake -> dispatch -> supervise -> feedback -> evaluate.

Cases are opened by the rule engine's alarms (`AlarmNotice`) or by people (`Report`),
dispatched by a routing table, handled through a state machine whose every transition
is an append-only record (`case_events`, also the live stream and MQTT), supervised
against an SLA table with an escalation ladder, rated by the reporter, and evaluated
by KPIs computed in SQL. The full registry (一标三实) that dispatch reads is loaded
here too. Time always comes from a `domain.Clock` or a `now` argument.
"""

from cases._errors import (
    AccessDenied,
    CaseNotFound,
    CasesError,
    CaseStoreError,
    DuplicateOpenCase,
    IllegalTransition,
    InvalidRequest,
    PolicyFileError,
    RegistryLoadError,
    VersionConflict,
)
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
    Intake,
    Report,
    Rung,
    Severity,
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
    Deadlines,
    Policy,
    load_policy,
)
from cases._registry import (
    PERSONAL_DATA_ROLES,
    RegistryChange,
    RegistryLoad,
    ResidentDetails,
    grid_of,
    load_full_registry,
    read_resident_details,
    registry_changes,
    set_household_tags,
)
from cases._states import allowed_in
from cases._store import events as case_events
from cases._store import get_case
from cases._stream import (
    NOTIFY_CHANNEL,
    MqttPublisher,
    NoPublisher,
    Publisher,
    event_document,
    topic_for,
)
from cases._supervisor import Supervisor
from cases._workflow import Workflow

__all__ = [
    "ANY",
    "DEFAULT_POLICY",
    "DEFAULT_ROUTES",
    "DEFAULT_SLA",
    "LADDER",
    "NOTIFY_CHANNEL",
    "OPEN_STATES",
    "PERSONAL_DATA_ROLES",
    "REPORT_CATEGORIES",
    "AccessDenied",
    "Action",
    "ActionMode",
    "AlarmCleared",
    "AlarmNotice",
    "Assignment",
    "CancelReason",
    "Case",
    "CaseEvent",
    "CaseNotFound",
    "CaseStoreError",
    "CasesError",
    "Deadlines",
    "DuplicateOpenCase",
    "IllegalTransition",
    "Intake",
    "InvalidRequest",
    "Kpi",
    "KpiDimension",
    "MqttPublisher",
    "NoPublisher",
    "Policy",
    "PolicyFileError",
    "Publisher",
    "RegistryChange",
    "RegistryLoad",
    "RegistryLoadError",
    "Report",
    "ResidentDetails",
    "Rung",
    "Severity",
    "Source",
    "State",
    "Supervisor",
    "Transition",
    "VersionConflict",
    "Workflow",
    "allowed_in",
    "case_events",
    "event_document",
    "get_case",
    "grid_of",
    "kpis",
    "load_full_registry",
    "load_policy",
    "read_resident_details",
    "registry_changes",
    "set_household_tags",
    "topic_for",
]
