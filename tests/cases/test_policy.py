"""Routing and SLA tables, and their YAML overrides (no database)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import cases
from cases import ANY, DEFAULT_POLICY
from domain import PartyKind, Severity


def test_elderly_alarms_go_to_care_and_the_grid_and_security_to_the_police() -> None:
    assert DEFAULT_POLICY.route("fall", "g1") == (
        PartyKind.ELDERLY_CARE_CENTRE,
        PartyKind.GRID_TEAM,
    )
    assert DEFAULT_POLICY.route("forced_open", None) == (
        PartyKind.PROPERTY_COMPANY,
        PartyKind.COMMUNITY_POLICE,
    )
    assert DEFAULT_POLICY.route("lamp_failure_night", "g1") == (PartyKind.PROPERTY_COMPANY,)
    assert DEFAULT_POLICY.route("something_new", "g1") == (PartyKind.GRID_TEAM,)


def test_sos_and_fall_are_answered_within_the_telecare_60_seconds() -> None:
    for category in ("sos", "fall"):
        deadlines = DEFAULT_POLICY.deadlines(category, Severity.CRITICAL)
        assert deadlines.acknowledge == timedelta(seconds=60)
    assert DEFAULT_POLICY.deadlines("repair", Severity.MINOR) == cases.Deadlines(
        timedelta(hours=1), timedelta(hours=24)
    )


def test_a_policy_file_overrides_one_grid_and_one_deadline(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "format: dayuan.cases/1\n"
        "routes:\n"
        "  - {category: repair, grid: g2, parties: [grid_team, property_company]}\n"
        "sla:\n"
        "  - {category: repair, acknowledge: 30m, resolve: 2d}\n"
    )
    policy = cases.load_policy(path)
    assert policy.route("repair", "g2") == (PartyKind.GRID_TEAM, PartyKind.PROPERTY_COMPANY)
    assert policy.route("repair", "g1") == (PartyKind.PROPERTY_COMPANY,)
    assert policy.deadlines("repair", Severity.MAJOR) == cases.Deadlines(
        timedelta(minutes=30), timedelta(days=2)
    )
    assert policy.deadlines("sos", Severity.CRITICAL).acknowledge == timedelta(seconds=60)


def test_a_replacing_policy_file_must_keep_its_fallbacks(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "format: dayuan.cases/1\nreplace_defaults: true\n"
        "routes: [{category: repair, parties: [property_company]}]\n"
    )
    with pytest.raises(cases.PolicyFileError, match=r"fallback route \(\*, \*\)"):
        cases.load_policy(path)
    path.write_text(
        "format: dayuan.cases/1\nsla: [{category: x, acknowledge: soon, resolve: 1h}]\n"
    )
    with pytest.raises(cases.PolicyFileError, match="not a duration"):
        cases.load_policy(path)
    assert (ANY, ANY) in DEFAULT_POLICY.routes


def test_every_state_offers_its_transitions() -> None:
    assert cases.Transition.ACKNOWLEDGED in cases.allowed_in(cases.State.DISPATCHED)
    assert cases.Transition.CLOSED not in cases.allowed_in(cases.State.DISPATCHED)
    assert cases.allowed_in(cases.State.CANCELLED) == [
        cases.Transition.ALARM_CLEARED,
        cases.Transition.NOTE_ADDED,
    ]
