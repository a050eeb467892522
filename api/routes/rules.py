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
def _catalogue(path: Path | None) -> tuple[RulePublic, ...]:
    ruleset = rules.load_rules(path)
    listed = [
        RulePublic(
            id=r.id,
            severity=r.severity.value,
            enabled=r.enabled,
            title={"en": r.title, "zh": r.title_zh or r.title},
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
    return (*listed, neutral)


@router.get("")
def rule_titles(_: Reader, state: StateDep) -> Page[RulePublic]:
    """Every rule of the file the engine runs (disabled ones too: their old alarms still
    show), plus `elderly_care`, the neutral name of withheld elderly-care alarms. 503 with
    the reason when the rule file cannot be read."""
    try:
        listed = _catalogue(state.config.rules_file)
    except rules.RulesError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"the rule file cannot be read: {exc}"
        ) from exc
    return Page(data=list(listed), count=len(listed))
