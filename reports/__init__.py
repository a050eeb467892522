"""Exports and the monthly evaluation (考核): cases and KPIs as CSV (streamed) and XLSX
(typed cells, a header row, frozen panes, sheet names in the reader's language), and the
month's evaluation report of a compound per grid or per party as PDF (ReportLab). Every
figure comes from `cases.kpis` and every case from `cases.list_cases`/`iter_cases`;
what a reader may see is the caller's `registry.Scope`, decided by the API."""

from reports._errors import InvalidPeriod, ReportsError
from reports._evaluation import (
    MAX_LISTED,
    CareCounts,
    Evaluation,
    Listed,
    Redact,
    Section,
    evaluate,
)
from reports._month import Month
from reports._pdf import FONT, render
from reports._tables import (
    CASE_COLUMNS,
    KPI_COLUMNS,
    SHEETS,
    Column,
    Language,
    csv_lines,
    xlsx_file,
)

__all__ = [
    "CASE_COLUMNS",
    "FONT",
    "KPI_COLUMNS",
    "MAX_LISTED",
    "SHEETS",
    "CareCounts",
    "Column",
    "Evaluation",
    "InvalidPeriod",
    "Language",
    "Listed",
    "Month",
    "Redact",
    "ReportsError",
    "Section",
    "csv_lines",
    "evaluate",
    "render",
    "xlsx_file",
]
