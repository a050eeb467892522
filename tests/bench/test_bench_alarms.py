"""`dayuan bench alarms`, short form: an evening hour of the reference compound (the
commute home: the gates' busiest, where version 1 of tailgating drowned the feed) with
a handful of incidents, played through the gateway's intake and the shipped catalogue.
Every injected incident is detected and at most 5 % of the alarms match none; the same
hour under version 1 of the tailgating rule fails the goal, so the score can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from bench import alarm_quality
from domain import CompoundFile
from rules import RuleSet, load_rules, parse_rules
from simulators import generate_compound, parse_scenario

# 17:40-18:40 local (UTC+8) on the bench's fixed day: the evening peak at the gates.
START = datetime(2026, 11, 16, 9, 40, tzinfo=UTC)
HOUR = timedelta(hours=1)
SCENARIO = parse_scenario("""
format: dayuan.scenario/1
name: hour
description: an evening hour's incidents, one of each kind a person answers
schedule:
  - {at: "+3m", type: tailgating, device: G-E1, people: 3}
  - {at: "+6m", type: forced_open, device: G-E2}
  - {at: "+9m", type: sos, flat: 3-2-301}
  - {at: "+12m", type: fall, flat: 3-2-301, lying: 20m}
  - {at: "+15m", type: door_held, device: G-5-2, duration: 4m}
  - {at: "+20m", type: stranger, device: G-E1, attempts: 6}
  - {at: "+25m", type: tamper, device: G-1-1}
  - {at: "+28m", type: barrier_fault, device: B-1, duration: 15m}
  - {at: "+30m", type: vitals, flat: 3-2-301, heart_rate: 138, spo2: 88, duration: 10m}
  - {at: "+35m", type: low_battery, device: E-3-2-301-door, level: 7}
  - {at: "+15m", type: silent, device: E-3-2-301-motion, duration: 40m}
  - {at: "+5m", type: duplicate, device: G-E1, count: 10}
  - {at: "+7m", type: malformed, device: L-002, variant: not_json}
""")
SCHEDULED_OPS = {
    "tailgating",
    "forced_open",
    "sos",
    "fall",
    "door_held",
    "stranger",
    "tamper",
    "barrier_fault",
    "vitals",
    "low_battery",
    "silent",
}


@pytest.fixture(scope="module")
def compounds() -> CompoundFile:
    return generate_compound(seed=0)


@pytest.fixture(scope="module")
def report(compounds: CompoundFile) -> dict[str, Any]:
    return alarm_quality(compounds, start=START, duration=HOUR, scenario=SCENARIO)


def _version_1_tailgating() -> RuleSet:
    """The catalogue with tailgating as it was: every passage against every grant."""
    current = load_rules()
    rules = [r for r in current.rules if r.id != "tailgating"]
    old = parse_rules(
        yaml.safe_load("""
format: dayuan.rules/1
version: "v1"
rules:
  - id: tailgating
    version: 1
    kind: compare
    title: Tailgating (more passages than grants)
    severity: minor
    scope: {kinds: [gate]}
    left: {type: passage}
    left_weight: count
    right: {type: access, where: {result: granted}}
    window: 10s
    source: version 1, before issue 18
""")
    )
    return RuleSet(version=current.version, rules=(*rules, *old.rules))


def test_every_injected_incident_is_detected(report: dict[str, Any]) -> None:
    overall = report["overall"]
    assert report["missed"] == []
    assert overall["recall"] == 1.0
    scored = {i["op"] for i in report["not_expected"]}
    assert scored == set(), f"incidents the hour cannot judge: {report['not_expected']}"
    per_rule = report["rules"]
    for rule in ("tailgating", "forced_open", "sos", "fall", "door_held_open", "gate_tamper"):
        assert per_rule[rule]["detected"] >= 1, rule
    for rule in ("repeated_denials", "barrier_fault", "heart_rate_out_of_range", "spo2_low"):
        assert per_rule[rule]["detected"] >= 1, rule
    assert per_rule["low_battery"]["detected"] >= 1
    assert per_rule["elder_device_offline"]["detected"] == 1
    assert set(report["incidents_by_kind"]) >= SCHEDULED_OPS


def test_unmatched_alarms_stay_within_the_goal(report: dict[str, Any]) -> None:
    overall = report["overall"]
    assert overall["alarms"] > 0
    assert overall["unmatched_share"] <= 0.05, report["unmatched_alarms"]
    assert overall["goal_met"]
    assert sum(r["share"] for r in report["rules"].values()) == pytest.approx(1.0, abs=0.01)


def test_version_1_of_tailgating_fails_the_goal(compounds: CompoundFile) -> None:
    """A quarter of the hour is enough for exits without grants to drown the feed."""
    old = alarm_quality(
        compounds,
        start=START,
        duration=timedelta(minutes=15),
        scenario=None,
        ruleset=_version_1_tailgating(),
    )
    tailgating = old["rules"]["tailgating"]
    assert tailgating["unmatched"] > tailgating["matched"]
    assert old["overall"]["unmatched_share"] > 0.05
    assert not old["overall"]["goal_met"]
