"""A case's history in plain words for the resident who reported it (Chinese and
English), and the texts of the messages they are sent. Steps that are the staff's own
business (who was assigned, internal notes, duplicates joined) are not shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain import Language

Words = dict[str, str]

PARTIES: dict[str, Words] = {
    "property_company": {"zh": "物业公司", "en": "the property company"},
    "grid_team": {"zh": "网格员", "en": "your grid worker"},
    "elderly_care_centre": {"zh": "养老服务中心", "en": "the elderly-care centre"},
    "residents_committee": {"zh": "居委会", "en": "the residents' committee"},
    "owners_committee": {"zh": "业委会", "en": "the owners' committee"},
    "community_police": {"zh": "社区民警", "en": "the community police"},
}

MODES: dict[str, Words] = {
    "desk_reception": {"zh": "在服务台接待", "en": "seen at the desk"},
    "home_visit": {"zh": "上门查看", "en": "a visit to the home"},
    "on_site_emergency": {"zh": "现场处置", "en": "handled on the spot"},
    "joint_consultation": {"zh": "多方会商", "en": "a joint meeting of several parties"},
    "follow_up_visit": {"zh": "回访", "en": "a follow-up visit"},
}

# transition -> (zh, en); `{parties}`, `{mode}`, `{note}`, `{rating}` filled from the detail.
STEPS: dict[str, tuple[str, str]] = {
    "opened": ("已收到您的报告", "We received your report"),
    "dispatched": ("已交给{parties}处理", "Passed to {parties}"),
    "acknowledged": ("工作人员已接单", "A staff member has taken it on"),
    "started": ("正在处理", "Work has started"),
    "action_recorded": ("处理中：{mode}", "In hand: {mode}"),
    "escalated": ("已提醒上级督办", "A supervisor was asked to follow it up"),
    "redispatched": ("已改交{parties}处理", "Passed on to {parties} instead"),
    "transferred": ("已转交{parties}处理", "Handed over to {parties}"),
    "resolved": ("已处理完毕：{note}", "Done: {note}"),
    "reporter_informed": ("已通知您处理结果", "You were told the outcome"),
    "rated": ("评价：{rating} 星", "Rated {rating} of 5"),
    "closed": ("已结案", "Closed"),
    "reopened": ("已重新打开", "Opened again"),
    "cancelled": ("已撤销", "Withdrawn"),
    "merged": ("与先前的同一问题合并处理", "Joined with an earlier report of the same problem"),
}

STATES: dict[str, Words] = {
    "new": {"zh": "已收到", "en": "Received"},
    "dispatched": {"zh": "已派单", "en": "Passed on"},
    "acknowledged": {"zh": "已接单", "en": "Taken on"},
    "in_progress": {"zh": "处理中", "en": "In hand"},
    "resolved": {"zh": "已处理", "en": "Done"},
    "closed": {"zh": "已结案", "en": "Closed"},
    "reopened": {"zh": "重新处理", "en": "Opened again"},
    "cancelled": {"zh": "已撤销", "en": "Withdrawn"},
    "merged": {"zh": "已合并", "en": "Joined"},
}


def _parties(detail: Mapping[str, Any], lang: str) -> str:
    people = detail.get("assignees") or detail.get("to") or []
    names = [PARTIES.get(str(p.get("party_kind")), {}).get(lang, "") for p in people]
    names = [n for n in dict.fromkeys(names) if n]
    sep = "、" if lang == "zh" else ", "
    return sep.join(names) or ("工作人员" if lang == "zh" else "the staff")


def step_words(transition: str, detail: Mapping[str, Any]) -> Words | None:
    """The step in both languages, or None for a step residents are not shown."""
    texts = STEPS.get(transition)
    if texts is None:
        return None
    out = {}
    for lang, text in zip(("zh", "en"), texts, strict=True):
        out[lang] = text.format(
            parties=_parties(detail, lang),
            mode=MODES.get(str(detail.get("mode")), {}).get(lang, ""),
            note=str(detail.get("note") or ""),
            rating=detail.get("rating", ""),
        )
    return out


def code_text(code: str, minutes: int, language: Language | None) -> str:
    zh = f"【大院】您的登录验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。"
    en = f"Dayuan sign-in code: {code} (valid {minutes} min). Do not share it."
    if language is Language.ZH:
        return zh
    if language is Language.EN:
        return en
    return f"{zh} {en}"


def outcome_text(case_id: int, outcome: str, language: Language) -> tuple[str, str]:
    """(subject, body) of the message telling a resident their report was dealt with. The
    subject carries the outcome too: it is all an SMS carries (notify's `sms_text`)."""
    if language is Language.EN:
        return (
            f"Dayuan: your report {case_id} is done: {outcome}",
            f"Your report {case_id} is done: {outcome}. Rate it, or open it again if the"
            " problem is back, on your page.",
        )
    return (
        f"【大院】您的报告 {case_id} 已处理：{outcome}",
        f"您的报告 {case_id} 已处理：{outcome}。请在您的页面上评价；如问题仍在，可重新打开。",
    )
