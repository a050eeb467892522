"""The acknowledgement page behind every notification's link (`/a/<token>`): no login
(the signed token is the authority), a phone's one column in large type, Chinese or
English (Accept-Language, `?lang=` switches), two buttons that are plain form posts
(no script: it works on any phone browser and within the Content-Security-Policy; the
stylesheet is a file). A refused link answers 404 (not ours), 403 (forged), 410
(expired or used) or 409 (the case moved on) with a page saying why."""

from __future__ import annotations

from html import escape
from pathlib import Path

import notify

ACK_CSS = Path(__file__).with_name("ack") / "ack.css"
STATUS = {
    "malformed": 404,
    "unknown": 404,
    "forged": 403,
    "expired": 410,
    "used": 410,
    "settled": 409,
}

_TEXT = {
    "zh": {
        "title": "警情通知",
        "case": "事件",
        "where": "地点",
        "compound": "小区",
        "building": "楼栋",
        "flat": "房号",
        "opened": "发生时间",
        "you": "通知对象",
        "told": "已通知",
        "going": "我去处理",
        "cannot": "我去不了",
        "cannot_said": "(去不了)",
        "going_said": "(已前往)",
        "acked": "已有人响应",
        "nobody": "无需前往:事件状态为",
        "done_going": "已确认:您正在前往。事件已标记为已响应。",
        "done_cannot": "已记录:您去不了。系统正在通知下一位。",
        "refused": "此链接无法使用",
        "expires": "链接有效至",
        "switch": "English",
    },
    "en": {
        "title": "Alarm notification",
        "case": "Case",
        "where": "Where",
        "compound": "Compound",
        "building": "Building",
        "flat": "Flat",
        "opened": "Happened at",
        "you": "Sent to",
        "told": "Also told",
        "going": "I am going",
        "cannot": "I cannot",
        "cannot_said": "(cannot)",
        "going_said": "(going)",
        "acked": "Already acknowledged by",
        "nobody": "Nobody needs to go: the case is",
        "done_going": "Confirmed: you are going. The case is acknowledged.",
        "done_cannot": "Noted: you cannot go. The next person is being called.",
        "refused": "This link cannot be used",
        "expires": "Link valid until",
        "switch": "中文",
    },
}


def language(query: str | None, accept: str | None) -> str:
    """`?lang=` first, then the first of zh/en in Accept-Language; Chinese by default."""
    if query in _TEXT:
        return query
    for part in (accept or "").lower().split(","):
        tag = part.split(";")[0].strip()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh"
    return "zh"


def _page(lang: str, body: str, *, css_class: str = "", path: str = "") -> str:
    t = _TEXT[lang]
    other = "en" if lang == "zh" else "zh"
    return (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{t["title"]}</title><link rel="stylesheet" href="/a/_/ack.css"></head>'
        f'<body class="{css_class}"><main><nav><a id="lang" href="{escape(path)}?lang={other}">'
        f"{t['switch']}</a></nav>{body}</main></body></html>"
    )


def case_page(view: notify.LinkView, lang: str, path: str, answered: str | None = None) -> str:
    t = _TEXT[lang]
    case = view.case
    parts = (case.flat or "").split("-")
    building = parts[0] if len(parts) == 3 else "-"
    flat = case.flat or case.location or "-"
    told = "".join(
        f"<li>{escape(x.name)}"
        + (f" {t[x.answer + '_said']}" if x.answer in notify.ANSWERS else "")
        + "</li>"
        for x in view.told
    )
    facts = (
        f'<h1 id="title">{escape(case.title)}</h1><dl>'
        f'<dt>{t["case"]}</dt><dd id="case">#{case.id} · {escape(case.category)}'
        f" · {escape(case.severity.value)}</dd>"
        f"<dt>{t['compound']}</dt><dd>{escape(view.compound_name)}</dd>"
        f"<dt>{t['building']}</dt><dd>{escape(building)}</dd>"
        f'<dt>{t["flat"]}</dt><dd id="flat">{escape(flat)}</dd>'
        f"<dt>{t['opened']}</dt><dd>{case.opened_at.strftime('%Y-%m-%d %H:%M:%S UTC')}</dd>"
        f"<dt>{t['you']}</dt><dd>{escape(view.staff_name)}</dd>"
        f'<dt>{t["told"]}</dt><dd><ul id="told">{told}</ul></dd></dl>'
    )
    if answered is not None:
        notice = f'<p id="notice" class="notice done">{t["done_" + answered]}</p>'
    elif view.awaiting:
        notice = (
            f'<form method="post" action="{escape(path)}?lang={lang}" class="buttons">'
            f'<button id="going" class="going" name="answer" value="going">{t["going"]}</button>'
            f'<button id="cannot" class="cannot" name="answer" value="cannot">{t["cannot"]}'
            "</button></form>"
        )
    elif view.acknowledged_by:
        notice = f'<p id="notice" class="notice">{t["acked"]} {escape(view.acknowledged_by)}</p>'
    else:
        notice = f'<p id="notice" class="notice">{t["nobody"]} {escape(case.state.value)}</p>'
    expires = view.expires.strftime("%Y-%m-%d %H:%M UTC")
    footer = f"<p>{t['expires']} {expires}</p>"
    return _page(
        lang, facts + notice + footer, css_class=f"severity-{case.severity.value}", path=path
    )


def refused_page(exc: notify.LinkRefused, lang: str, path: str) -> str:
    t = _TEXT[lang]
    body = f'<h1>{t["refused"]}</h1><p id="notice" class="notice refused">{escape(exc.reason)}</p>'
    return _page(lang, body, path=path)
