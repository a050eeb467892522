"""The evaluation drawn as a PDF with ReportLab: a title page with the compound's
figures, the sections at a glance and a chart of their rates, then one section per grid
or party (its figures, cases by category with a chart, per-person KPIs, the overdue and
the escalated cases listed).

The font is ReportLab's built-in CID font STSong-Light (Adobe-GB1): it needs no font
file and every PDF reader supplies it. The system's Noto CJK fonts are OpenType with
CFF outlines, which ReportLab cannot embed (its TTFont reads TrueType outlines only)."""

from __future__ import annotations

import calendar
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

import cases
from reports._evaluation import CareCounts, Evaluation, Listed, Section
from reports._tables import Language
from reports._text import TEXT

FONT = "STSong-Light"
_BAR = colors.HexColor("#3b6ea5")
_BAR2 = colors.HexColor("#e0953a")
_HEAD = colors.HexColor("#dde6f0")
# The figures tables' columns: a name, then nine numbers (180 mm between the margins).
FIGURES = [36 * mm] + [16 * mm] * 9
# Longest title in a case list: the rest of a long one is cut with an ellipsis.
TITLE_CHARS = 40


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def render(evaluation: Evaluation, language: Language) -> bytes:
    """The report as PDF bytes."""
    font = _font()
    t = TEXT[language]
    styles = _Styles(font)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_title(evaluation, language),
        author="Dayuan",
    )
    zone = ZoneInfo(evaluation.timezone)
    story: list[Any] = [
        Paragraph(_title(evaluation, language), styles.title),
        Paragraph(
            t["meta"].format(
                since=_day(evaluation.since, zone),
                until=_day(evaluation.until, zone),
                tz=evaluation.timezone,
                now=evaluation.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ),
            styles.small,
        ),
        Spacer(1, 4 * mm),
        Paragraph(t["overall"], styles.h2),
        _table(_figures_rows([(t["overall"], evaluation.overall)], t), font, styles, FIGURES),
        Spacer(1, 4 * mm),
    ]
    unit = t["unit_grid"] if evaluation.by is cases.KpiDimension.GRID else t["unit_party"]
    story.append(Paragraph(t["overview"].format(unit=unit), styles.h2))
    rows = [(s.name, s.totals) for s in evaluation.sections]
    story.append(_table(_figures_rows(rows, t), font, styles, FIGURES))
    if rows:
        story += [Spacer(1, 4 * mm), _rates_chart(evaluation.sections, t, font)]
    if evaluation.care:
        story += [
            Spacer(1, 4 * mm),
            Paragraph(t["care_overview"], styles.h2),
            _table(_care_rows(evaluation.care, t), font, styles, FIGURES),
            Paragraph(t["care_note"], styles.small),
        ]
    for section in evaluation.sections:
        story += [PageBreak(), *_section(section, t, font, styles, zone)]
    doc.build(
        story,
        onFirstPage=_footer(t, font),
        onLaterPages=_footer(t, font),
    )
    return out.getvalue()


class _Styles:
    def __init__(self, font: str) -> None:
        self.title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
        self.h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceBefore=4)
        self.h3 = ParagraphStyle("h3", fontName=font, fontSize=10, leading=15, spaceBefore=4)
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
        self.small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11)
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5)


def _title(evaluation: Evaluation, language: Language) -> str:
    t = TEXT[language]
    by = t["by_grid"] if evaluation.by is cases.KpiDimension.GRID else t["by_party"]
    return t["title"].format(
        compound=evaluation.compound_name,
        year=evaluation.month.year,
        month=evaluation.month.month,
        month_name=calendar.month_name[evaluation.month.month],
        by=by,
    )


def _day(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    """A duration as people read it: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _figures_rows(rows: Sequence[tuple[str, cases.Kpi | None]], t: dict[str, str]) -> list[Any]:
    head = [
        t["name"],
        t["received"],
        t["due"],
        t["closed"],
        t["on_time_rate"],
        t["ack_median"],
        t["resolve_median"],
        t["satisfaction"],
        t["satisfied_rate"],
        t["escalations"],
    ]
    body: list[list[str]] = []
    for name, k in rows:
        if k is None:
            body.append([name, "0", "0", "0", "-", "-", "-", "-", "-", "0"])
            continue
        body.append(
            [
                name,
                str(k.received),
                str(k.due),
                str(k.closed),
                _rate(k.on_time_rate),
                _duration(k.ack_median_s),
                _duration(k.resolve_median_s),
                _number(k.satisfaction_mean),
                _rate(k.satisfied_rate),
                str(k.escalations),
            ]
        )
    return [head, *body]


def _care_rows(rows: Sequence[tuple[str, CareCounts]], t: dict[str, str]) -> list[Any]:
    """The care programmes' figures, a grid a row: as many columns as the figures'."""
    head = [
        t["name"],
        t["care_plans"],
        t["care_due"],
        t["care_overdue"],
        t["care_visits"],
        t["care_on_time"],
        t["care_follow_ups"],
        t["care_done"],
        t["care_missed"],
        t["care_unrecorded"],
    ]
    body = [
        [
            name,
            str(k.plans_active),
            str(k.visits_due),
            str(k.visits_overdue),
            str(k.visits_recorded),
            _rate(k.on_time_rate),
            str(k.follow_ups_open),
            str(k.deliveries_done),
            str(k.deliveries_missed),
            str(k.deliveries_unrecorded),
        ]
        for name, k in rows
    ]
    return [head, *body]


def _table(
    rows: list[Any], font: str, styles: _Styles, widths: Sequence[float] | None = None
) -> Any:
    if len(rows) == 1:  # nothing to list: one row that says so
        rows = [*rows, [TEXT_NONE] + [""] * (len(rows[0]) - 1)]
    cells = [[Paragraph(str(v), styles.cell) for v in r] for r in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("BACKGROUND", (0, 0), (-1, 0), _HEAD),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


TEXT_NONE = "-"


def _section(
    s: Section, t: dict[str, str], font: str, styles: _Styles, zone: ZoneInfo
) -> list[Any]:
    out: list[Any] = [Paragraph(s.name, styles.h2)]
    out.append(_table(_figures_rows([(s.name, s.totals)], t), font, styles, FIGURES))
    if s.totals is None:
        out.append(Paragraph(t["no_cases"], styles.body))
    if s.care is not None:
        out += [
            Paragraph(t["care"], styles.h3),
            _table(_care_rows([(s.name, s.care)], t), font, styles, FIGURES),
        ]
    if s.categories:
        head = [t["category"], t["received"], t["closed"], t["on_time_rate"], t["satisfaction"]]
        rows = [
            [
                k.key,
                str(k.received),
                str(k.closed),
                _rate(k.on_time_rate),
                _number(k.satisfaction_mean),
            ]
            for k in s.categories
        ]
        out += [
            Paragraph(t["by_category"], styles.h3),
            _table([head, *rows], font, styles),
            Spacer(1, 2 * mm),
            _category_chart(s.categories, t, font),
        ]
    out.append(Paragraph(t["staff"], styles.h3))
    head = [t["person"], t["handled"], t["on_time"], t["on_time_rate"], t["rating"], t["rated"]]
    people = [
        [
            name,
            str(k.received),
            str(k.closed_on_time),
            _rate(k.on_time_rate),
            _number(k.satisfaction_mean),
            str(k.rated),
        ]
        for name, k in s.staff
    ]
    out.append(_table([head, *people], font, styles))
    for label, listed in ((t["overdue"], s.overdue), (t["escalated"], s.escalated)):
        out.append(Paragraph(label, styles.h3))
        out += _listed(listed, t, font, styles, zone)
    return out


def _listed(
    listed: Listed | None, t: dict[str, str], font: str, styles: _Styles, zone: ZoneInfo
) -> list[Any]:
    if listed is None:
        return [Paragraph(t["no_grid_lists"], styles.small)]
    head = [
        t["case"],
        t["category"],
        t["title_col"],
        t["state"],
        t["opened"],
        t["resolve_due"],
        t["resolved"],
        t["escalations"],
    ]
    rows = [
        [
            str(c.id),
            c.category,
            c.title if len(c.title) <= TITLE_CHARS else c.title[: TITLE_CHARS - 1] + "…",
            c.state.value,
            _day(c.opened_at, zone),
            _day(c.resolve_due, zone),
            "-" if c.resolved_at is None else _day(c.resolved_at, zone),
            str(c.escalations),
        ]
        for c in listed.cases
    ]
    widths = [12 * mm, 22 * mm, 48 * mm, 18 * mm, 22 * mm, 22 * mm, 22 * mm, 14 * mm]
    out: list[Any] = [_table([head, *rows], font, styles, widths)]
    if listed.total > len(listed.cases):
        out.append(Paragraph(t["more"].format(n=listed.total - len(listed.cases)), styles.small))
    return out


def _chart(
    title: str,
    labels: list[str],
    series: list[list[float]],
    font: str,
    top: float | None,
    names: Sequence[str] = (),
) -> Any:
    drawing = Drawing(170 * mm, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 14 * mm
    chart.width, chart.height = 150 * mm, 40 * mm
    chart.data = series
    chart.categoryAxis.categoryNames = [label[:12] for label in labels]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 20 if len(labels) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 6 else "n"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    if top is not None:
        chart.valueAxis.valueMax = top
    chart.bars[0].fillColor = _BAR
    if len(series) > 1:
        chart.bars[1].fillColor = _BAR2
    drawing.add(chart)
    drawing.add(String(12 * mm, 57 * mm, title, fontName=font, fontSize=9))
    if names:
        legend = Legend()
        legend.x, legend.y = 110 * mm, 60 * mm
        legend.fontName, legend.fontSize = font, 7
        legend.alignment = "right"
        legend.columnMaximum = 1
        legend.colorNamePairs = list(zip((_BAR, _BAR2), names, strict=False))
        drawing.add(legend)
    return KeepTogether([drawing])


def _rates_chart(sections: Sequence[Section], t: dict[str, str], font: str) -> Any:
    def pct(v: float | None) -> float:
        return 0.0 if v is None else round(v * 100, 1)

    closure = [pct(s.totals.closure_rate if s.totals else None) for s in sections]
    on_time = [pct(s.totals.on_time_rate if s.totals else None) for s in sections]
    names = (t["closure_rate"], t["on_time_rate"])
    labels = [s.name for s in sections]
    return _chart(t["chart_rates"], labels, [closure, on_time], font, 100, names)


def _category_chart(categories: Sequence[cases.Kpi], t: dict[str, str], font: str) -> Any:
    return _chart(
        t["chart_categories"],
        [k.key for k in categories],
        [[float(k.received) for k in categories]],
        font,
        None,
    )


def _footer(t: dict[str, str], font: str) -> Any:
    def draw(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, t["page"].format(n=doc.page))
        canvas.restoreState()

    return draw
