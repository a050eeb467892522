"""`GET /rules`: the rule catalogue's titles in English and Chinese, for the dashboard
(an alarm stores its English title; the page names it in the user's language)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, status

import rules
from api import _health
from api.deps import Reader, StateDep
from api.models import Page, RulePublic

router = APIRouter(prefix="/rules", tags=["rules"])


@lru_cache(maxsize=4)
def _catalogue(path: Path | None) -> tuple[tuple[RulePublic, bool], ...]:
    """The rules, each with whether its title is a health reading (a vital-sign rule of
    elderly-care devices: the roles without health access see its alarms as
    `elderly_care`, so its title is withheld from them here too)."""
    ruleset = rules.load_rules(path)
    listed = [
        (
            RulePublic(
                id=r.id,
                severity=r.severity.value,
                enabled=r.enabled,
                title={"en": r.title, "zh": r.title_zh or r.title},
            ),
            _health.ELDER in r.scope.kinds and r.id not in _health.PLAIN_ALARMS,
        )
        for r in ruleset.rules
    ]
    # The name the roles without health access see elderly-care alarms under.
    neutral = RulePublic(
        id=_health.NEUTRAL_RULE,
        severity="major",
        enabled=True,
        title={"en": _health.NEUTRAL_TITLE, "zh": _health.NEUTRAL_TITLE_ZH},
    )
    return (*listed, (neutral, False))


@router.get("")
def rule_titles(user: Reader, state: StateDep) -> Page[RulePublic]:
    """Every rule of the file the engine runs (disabled ones too: their old alarms still
    show), plus `elderly_care`, the neutral name of withheld elderly-care alarms; the
    vital-sign rules only for the roles that read health data. 503 with the reason when
    the rule file cannot be read."""
    try:
        catalogue = _catalogue(state.config.rules_file)
    except rules.RulesError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the rule file cannot be read: {exc}"
        ) from exc
    listed = [r for r, health in catalogue if user.reads_health or not health]
    return Page(data=listed, count=len(listed))
