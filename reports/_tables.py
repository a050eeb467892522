"""Tables as files: the columns of the case and KPI exports (named as the API's JSON
names them, labelled in Chinese and English), written as CSV (streamed row by row) or
as XLSX (typed cells, a header row, frozen panes; openpyxl's write-only mode keeps one
row in memory, the file is spooled to disk past `SPOOL_BYTES`)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

Language = Literal["zh", "en"]
Kind = Literal["text", "int", "float", "rate", "seconds", "datetime"]
# An XLSX bigger than this goes to a temporary file while it is written, not memory.
SPOOL_BYTES = 8 * 1024 * 1024
_FORMATS: dict[Kind, str] = {
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "rate": "0.0%",
    "seconds": "#,##0",
    "float": "0.00",
}
_WIDTHS: dict[Kind, int] = {"datetime": 20, "text": 16, "int": 9, "float": 10}


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # the API's field name: the CSV header
    kind: Kind
    zh: str
    en: str

    def label(self, language: Language) -> str:
        return self.zh if language == "zh" else self.en


def _c(name: str, kind: Kind, zh: str, en: str) -> Column:
    return Column(name, kind, zh, en)


CASE_COLUMNS: tuple[Column, ...] = (
    _c("id", "int", "案件编号", "Case"),
    _c("compound", "text", "小区", "Compound"),
    _c("source", "text", "来源", "Source"),
    _c("category", "text", "类别", "Category"),
    _c("severity", "text", "紧急程度", "Severity"),
    _c("title", "text", "标题", "Title"),
    _c("state", "text", "状态", "State"),
    _c("version", "int", "版本", "Version"),
    _c("opened_at", "datetime", "受理时间", "Opened"),
    _c("ack_due", "datetime", "响应时限", "Acknowledge by"),
    _c("resolve_due", "datetime", "办结时限", "Resolve by"),
    _c("escalation_level", "int", "督办层级", "Escalation level"),
    _c("rung", "text", "督办至", "Escalated to"),
    _c("description", "text", "描述", "Description"),
    _c("device_id", "text", "设备", "Device"),
    _c("flat", "text", "房屋", "Flat"),
    _c("location", "text", "地点", "Location"),
    _c("grid_id", "text", "网格", "Grid"),
    _c("reporter", "text", "报告人", "Reporter"),
    _c("alarm_count", "int", "告警次数", "Alarms"),
    _c("acknowledged_at", "datetime", "响应时间", "Acknowledged"),
    _c("resolved_at", "datetime", "办结时间", "Resolved"),
    _c("closed_at", "datetime", "结案时间", "Closed"),
    _c("rating", "int", "评价", "Rating"),
    _c("escalations", "int", "督办次数", "Escalations"),
    _c("reopen_count", "int", "重办次数", "Reopened"),
    _c("first_responsible", "text", "首问责任人", "First responsible"),
    _c("claimed_by", "text", "认领人", "Claimed by"),
    _c("merged_into", "int", "合并至", "Merged into"),
)

KPI_COLUMNS: tuple[Column, ...] = (
    _c("key", "text", "对象", "Key"),
    _c("period", "datetime", "周期", "Period"),
    _c("received", "int", "受理数", "Received"),
    _c("due", "int", "应结案数", "Due"),
    _c("closed", "int", "结案数", "Closed"),
    _c("closed_on_time", "int", "按期结案数", "Closed on time"),
    _c("closure_rate", "rate", "结案率", "Closure rate"),
    _c("on_time_rate", "rate", "按期结案率", "On-time rate"),
    _c("ack_mean_s", "seconds", "平均响应(秒)", "Mean response (s)"),
    _c("ack_median_s", "seconds", "响应中位数(秒)", "Median response (s)"),
    _c("ack_p90_s", "seconds", "响应P90(秒)", "P90 response (s)"),
    _c("resolve_mean_s", "seconds", "平均办结(秒)", "Mean resolution (s)"),
    _c("resolve_median_s", "seconds", "办结中位数(秒)", "Median resolution (s)"),
    _c("resolve_p90_s", "seconds", "办结P90(秒)", "P90 resolution (s)"),
    _c("escalations", "int", "督办次数", "Escalations"),
    _c("rated", "int", "评价数", "Rated"),
    _c("satisfaction_mean", "float", "平均满意度", "Mean rating"),
    _c("satisfied_rate", "rate", "满意率", "Satisfied rate"),
)

SHEETS: dict[str, dict[Language, str]] = {
    "cases": {"zh": "案件", "en": "Cases"},
    "kpis": {"zh": "考核指标", "en": "KPIs"},
}


def _text(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat()
    return str(value)


def csv_lines(
    columns: Sequence[Column], batches: Iterable[Iterable[Mapping[str, Any]]], *, timezone: str
) -> Iterator[str]:
    """The header (the field names) and then one chunk of lines per batch; UTF-8 with a
    byte-order mark, so that a spreadsheet opens the Chinese right; instants in ISO 8601
    with the offset of `timezone`; an empty field for None."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    yield "\ufeff" + out.getvalue()
    for batch in batches:
        out.seek(0)
        out.truncate()
        for row in batch:
            writer.writerow([_text(row.get(c.name), zone) for c in columns])
        yield out.getvalue()


def xlsx_file(
    columns: Sequence[Column],
    batches: Iterable[Iterable[Mapping[str, Any]]],
    *,
    sheet: str,
    language: Language,
    timezone: str,
) -> IO[bytes]:
    """One sheet named `sheet` in `language`, a bold header row of labels (instants'
    labels name `timezone`: Excel holds no offsets), frozen below it; numbers as numbers,
    rates as percentages, instants as dates in `timezone` to the second. Returned
    rewound."""
    zone = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    ws = book.create_sheet(SHEETS[sheet][language])
    ws.freeze_panes = "A2"
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(c.kind, 12)
    bold = Font(bold=True)
    header = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=_label(c, language, timezone))
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for batch in batches:
        for row in batch:
            ws.append([_cell(ws, c, row.get(c.name), zone) for c in columns])
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    book.save(out)
    out.seek(0)
    return out


def _label(column: Column, language: Language, timezone: str) -> str:
    label = column.label(language)
    return f"{label} ({timezone})" if column.kind == "datetime" else label


def _cell(ws: Any, column: Column, value: Any, zone: ZoneInfo) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        # Excel holds no offset and at best milliseconds: local time, to the second.
        value = value.astimezone(zone).replace(tzinfo=None, microsecond=0)
    elif column.kind == "text":
        value = str(value)
    cell = WriteOnlyCell(ws, value=value)
    if column.kind in _FORMATS:
        cell.number_format = _FORMATS[column.kind]
    return cell
