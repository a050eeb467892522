"""Rule files: validation errors name the rule and the field; durations; scoping."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rules import RuleDefinitionError, RuleFileError, load_rules, parse_rules
from tests.rules.harness import Harness, ruleset

RULE: dict[str, Any] = {
    "id": "battery",
    "version": 1,
    "kind": "threshold",
    "title": "Battery low",
    "severity": "minor",
    "source": "test",
    "metric": "battery",
    "below": 15,
    "for": "90s",
}


def _doc(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"format": "dayuan.rules/1", "version": "t", "rules": list(rules)}


def test_catalogue_is_valid_and_sourced() -> None:
    rs = load_rules()
    assert len(rs.rules) >= 18
    assert all(r.source.strip() for r in rs.rules)


def test_durations_parse() -> None:
    rule = parse_rules(_doc(RULE)).rules[0]
    assert rule.hold == timedelta(seconds=90)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"below": "low"}, "below"),
        ({"for": "ten minutes"}, "for"),
        ({"severity": "urgent"}, "severity"),
        ({"below": None}, "<rule>"),
        ({"scope": {"kinds": ["lift"]}}, "scope.kinds.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_errors_name_the_rule_and_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(RuleDefinitionError) as caught:
        parse_rules(_doc(RULE, {**RULE, "id": "broken", **change}))
    assert caught.value.rule == "broken"
    assert caught.value.field == field
    assert "broken" in str(caught.value)
    assert field in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(RuleDefinitionError, match="appears twice"):
        parse_rules(_doc(RULE, RULE))


def test_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("format: [unclosed", encoding="utf-8")
    with pytest.raises(RuleFileError, match="not valid YAML"):
        load_rules(bad)
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_scope_by_grid_and_compound() -> None:
    """sos scoped to grid g2 (building 1): a pendant in building 3 (grid g1) is ignored."""
    sos = ruleset("sos").rules[0]
    narrowed = sos.model_copy(update={"scope": sos.scope.model_copy(update={"grids": ["c1-g2"]})})
    h = Harness.of(rules=ruleset().model_copy(update={"rules": (narrowed,)}))
    h.event("sos-1", "sos")
    assert h.opened("sos") == []
    wide = sos.model_copy(
        update={"scope": sos.scope.model_copy(update={"compounds": ["c1"], "grids": ["c1-g1"]})}
    )
    h = Harness.of(rules=ruleset().model_copy(update={"rules": (wide,)}))
    h.event("sos-1", "sos")
    assert len(h.opened("sos")) == 1
