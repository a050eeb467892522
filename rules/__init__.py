"""Dayuan's rule engine: validated device messages in, alarms out.

Rules are declarative (a YAML file validated by pydantic; `catalogue.yaml` ships the
defaults), evaluated on the engine's own thread beside the gateway, with state and
open alarms persisted in PostgreSQL so that a restart resumes timers and two
processes never open the same alarm twice. Alarms leave through `AlarmSink`; this
package knows nothing of cases or HTTP.
"""

from domain import SunTimes
from rules._alarms import (
    AlarmChange,
    AlarmRow,
    AlarmSink,
    AlarmStore,
    ChangeKind,
    CollectingSink,
    MemoryAlarmStore,
    Raise,
    Signal,
    Subject,
)
from rules._book import AlarmBook
from rules._definitions import (
    RULES_FORMAT,
    Rule,
    RuleSet,
    catalogue_path,
    load_rules,
    parse_rules,
)
from rules._engine import Engine, EngineMetrics
from rules._errors import (
    AlarmStoreError,
    RegistryUnavailable,
    RuleDefinitionError,
    RuleFileError,
    RulesError,
)
from rules._evaluator import Evaluator
from rules._feed import FeedRow, alarm_feed, feed_head
from rules._reads import alarm_page, open_alarms_by_severity
from rules._replay import ReplayReport, replay
from rules._store import MemoryStateStore, PgAlarmStore, PgStateStore, StateRow, StateStore
from rules._sun import Phase, phase, sun_times
from rules._world import DeviceInfo, World

__all__ = [
    "RULES_FORMAT",
    "AlarmBook",
    "AlarmChange",
    "AlarmRow",
    "AlarmSink",
    "AlarmStore",
    "AlarmStoreError",
    "ChangeKind",
    "CollectingSink",
    "DeviceInfo",
    "Engine",
    "EngineMetrics",
    "Evaluator",
    "FeedRow",
    "MemoryAlarmStore",
    "MemoryStateStore",
    "PgAlarmStore",
    "PgStateStore",
    "Phase",
    "Raise",
    "RegistryUnavailable",
    "ReplayReport",
    "Rule",
    "RuleDefinitionError",
    "RuleFileError",
    "RuleSet",
    "RulesError",
    "Signal",
    "StateRow",
    "StateStore",
    "Subject",
    "SunTimes",
    "World",
    "alarm_feed",
    "alarm_page",
    "catalogue_path",
    "feed_head",
    "load_rules",
    "open_alarms_by_severity",
    "parse_rules",
    "phase",
    "replay",
    "sun_times",
]
