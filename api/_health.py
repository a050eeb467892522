"""Health data of elderly residents: which readings are health-bearing, how they are
withheld from the roles that do not need them, and the audit row of every read by a
role that does.

An elderly-care device (kind `elder`: pendants, wearables, fall and motion sensors)
reports vital signs (`heart_rate`, `spo2`, `temperature_c`) and events about a person
(`sos`, `fall`, `motion` with its room, `door`, `bed_exit`). Admins and care responders
(`Permission.READ_HEALTH`) see them, each read a row of `api_audit`. The other roles
see that a flat needs help, never why in figures: an SOS or fall alarm and event stay
visible with their values removed and `redacted: true`; vital-sign series and last
values are left out (an explicit request for one is 403); the activity events (motion,
door, bed exit) are not listed at all, since their times alone trace a resident's day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

import care
from api import _audit
from api._access import User
from api._db import Conn
from api.deps import client_address, purpose

ELDER = "elder"
HEALTH_KEYS = frozenset({"heart_rate", "spo2", "temperature_c"})
# Elderly-care events that call for help: shown to every role, without their data.
HELP_EVENTS = frozenset({"sos", "fall"})
# Elderly-care alarms whose rule and title say only that help or a visit is needed; any
# other (vital-sign rules, and any rule added later) is shown to the roles without health
# access under a neutral name, since "heart rate out of range" is itself a reading.
# The care sweep's cases (a visit overdue, a meal missed) are routine work, not readings:
# the household's grid worker and property staff see them by name, their values (the
# deliverer's note may say how the elder was) withheld like any elderly-care alarm's.
CARE_SWEEP = frozenset({care.VISIT_OVERDUE, care.MEAL_MISSED})
PLAIN_ALARMS = (
    frozenset(
        {"sos", "fall", "inactivity", "morning_inactivity", "low_battery", "elder_device_offline"}
    )
    | CARE_SWEEP
)
NEUTRAL_RULE = "elderly_care"
NEUTRAL_TITLE = "Elderly-care alarm: a resident may need help"
NEUTRAL_TITLE_ZH = "养老告警，住户可能需要帮助"  # noqa: RUF001 - the Chinese comma
REFUSED = "health readings of elderly-care devices are for care responders and administrators"


def is_health_key(kind: str, key: str) -> bool:
    return kind == ELDER and key in HEALTH_KEYS


def redact_alarm(alarm: dict[str, Any]) -> None:
    """An elderly-care alarm as the roles without health access see it: where and how
    urgent, never the readings."""
    alarm["values"], alarm["redacted"] = {}, True
    if alarm["rule_id"] not in PLAIN_ALARMS:
        alarm["rule_id"], alarm["title"] = NEUTRAL_RULE, NEUTRAL_TITLE


def record_read(
    conn: Conn,
    user: User,
    request: Request,
    *,
    route: str,
    subject: str,
    devices: list[str],
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """One audit row for a response that carried health data."""
    _audit.record(
        conn,
        user,
        action="read_health_data",
        subject=subject,
        route=route,
        reason=purpose(request),
        client=client_address(request),
        now=now,
        detail={"devices": sorted(set(devices)), **(detail or {})},
    )
