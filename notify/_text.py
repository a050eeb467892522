"""What the messages say, one table per language (Chinese, the default, and English):
the staff's case message with its repeat and link lines, and the family's. Placeholders
are `str.format` names filled by `notify._plan` and the notifier.

The subject is what an SMS carries (with the link): Chinese goes as UCS-2, 70
characters in one SMS part and 67 per part once concatenated. A Chinese subject is
~30 characters, so it fits one part on its own; with the link (~60 characters at a
short public URL) it takes two.
"""

from __future__ import annotations

from typing import Final

from domain import Language

TEXT: Final[dict[Language, dict[str, str]]] = {
    Language.ZH: {
        "subject": "【大院】{again}{severity} {what} {place} 案件{case} {verb}",
        "again": "第{round}次提醒，仍无人确认：",
        "dispatched": "已派给您",
        "escalated": "已升级",
        "line_case": "案件{case}：{title}",
        "line_repeat": "仍无人确认（第{round}次提醒）；已通知：{told}",
        "line_kind": "类别：{what}，级别：{severity}",
        "line_where": "地点：小区{compound}，{place}（网格{grid}）",
        "line_when": "发生：{opened}；请于{ack_due}前确认",
        "line_event": "事件：{transition}，{at}",
        "ack": "我去 / 去不了：{url}",
        "family_subject": "【大院】{flat}{what}",
        "family_dear": "{name}，您好：",
        "family_what": "{when}，小区{compound}的{flat}发出{what}。",
        "family_told": "值班的照护人员已收到通知，正在前往。",
        "family_ref": "编号：案件{case}",
    },
    Language.EN: {
        "subject": "[Dayuan] {again}{severity} {what} - case {case} {verb}",
        "again": "REPEAT {round}, NOT ACKNOWLEDGED: ",
        "dispatched": "dispatched to you",
        "escalated": "escalated",
        "line_case": "Case {case}: {title}",
        "line_repeat": "Nobody has acknowledged yet (repeat {round}); told: {told}",
        "line_kind": "Category: {what}, severity: {severity}",
        "line_where": "Where: compound {compound}, {place} (grid {grid})",
        "line_when": "Opened: {opened}; acknowledge by {ack_due}",
        "line_event": "Event: {transition} at {at}",
        "ack": "I am going / I cannot: {url}",
        "family_subject": "[Dayuan] {what} at flat {flat}",
        "family_dear": "Dear {name},",
        "family_what": "{what} was raised at flat {flat} in compound {compound} at {when}.",
        "family_told": "The care responders on duty have been told and asked to go.",
        "family_ref": "Reference: case {case}",
    },
}

# Severity and category as a reader says them; an unlisted category is the case's title
# (en: always the title, which the rule wrote).
SEVERITY: Final[dict[Language, dict[str, str]]] = {
    Language.ZH: {"critical": "紧急", "major": "重要", "minor": "一般", "warning": "提示"},
    Language.EN: {"critical": "CRITICAL", "major": "MAJOR", "minor": "MINOR", "warning": "WARNING"},
}
CATEGORY: Final[dict[Language, dict[str, str]]] = {
    Language.ZH: {"sos": "SOS求助", "fall": "跌倒报警"},
    Language.EN: {},
}
FAMILY_WHAT: Final[dict[Language, dict[str, str]]] = {
    Language.ZH: {"sos": "SOS求助", "fall": "跌倒报警", "": "报警"},
    Language.EN: {"sos": "An SOS alarm", "fall": "A fall alarm", "": "An alarm"},
}


def text(language: Language | str, key: str, **values: object) -> str:
    """The `key` line in `language` (Chinese for one we do not have)."""
    try:
        table = TEXT[Language(language)]
    except ValueError:
        table = TEXT[Language.ZH]
    return table[key].format(**values)
