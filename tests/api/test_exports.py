"""Exports and the monthly evaluation report against the real API and PostgreSQL: the
CSV parsed back and the XLSX read back with openpyxl match the JSON lists (values and
types), the PDF's pages parsed with pypdf show the grids, the parties, the people and
the figures; an export outside the caller's scope and an absurd period are refused with
the reason; every export is in the audit log."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from fastapi import FastAPI
from PIL import Image
from pypdf import PdfReader

import cases
import reports
from tests.api.conftest import Conn, FakeClock

H = dict[str, str]
V1 = "/api/v1"
DAYUAN = str(Path(sys.executable).parent / "dayuan")  # the console script
ZONE = "Asia/Shanghai"  # the test compound's (the compound file's default)


def _report(client: httpx.Client, h: H, location: str, **changes: Any) -> dict[str, Any]:
    body = {
        "compound": "c1",
        "category": "noise",
        "description": "loud music at night",
        "reporter": "r-1",
        "location": location,
        "severity": "critical",  # 5 min to acknowledge, 2 h to resolve
        **changes,
    }
    response = client.post(f"{V1}/cases", json=body, headers=h)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _act(client: httpx.Client, h: H, case: dict[str, Any], action: str, **body: Any) -> Any:
    response = client.post(
        f"{V1}/cases/{case['id']}/{action}", json={"version": case["version"], **body}, headers=h
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def month(clock: FakeClock) -> str:
    return clock.now().astimezone(ZoneInfo(ZONE)).strftime("%Y-%m")


@pytest.fixture
def world(
    client: httpx.Client,
    headers: dict[str, H],
    app: FastAPI,
    conn: Conn,
    clock: FakeClock,
) -> dict[str, Any]:
    """Four cases of this month, worked through the API. In grid g1 (building 1), both
    assigned to its cadre (s-cadre1, "Cadre 1"): a noise case closed on time and rated 5,
    and one closed 3 hours late; in g2 (building 3): a
    repair left unacknowledged (overdue, escalated by the supervisor) and a noise case
    cancelled (not due)."""
    admin = headers["admin"]
    on_time = _act(client, admin, _report(client, admin, "1-1-101"), "assign", staff_id="s-cadre1")
    for action, body in (("acknowledge", {}), ("start", {}), ("resolve", {"note": "stopped"})):
        on_time = _act(client, admin, on_time, action, **body)
    on_time = _act(client, admin, on_time, "rate", rating=5, by_phone=True)
    on_time = _act(client, admin, on_time, "close")
    late = _act(client, admin, _report(client, admin, "1-2-301"), "assign", staff_id="s-cadre1")
    late = _act(client, admin, late, "acknowledge")
    open_repair = _report(
        client, admin, "3-1-101", category="repair", description="broken stair rail"
    )
    cancelled = _act(
        client,
        admin,
        _report(client, admin, "3-2-301"),
        "cancel",
        reason="not_responsible",
        note="not ours",
    )
    clock.advance(hours=3)
    cases.Supervisor(conn, workflow=app.state.dayuan.workflow, clock=clock).run_once(clock.now())
    late = client.get(f"{V1}/cases/{late['id']}", headers=admin).json()  # escalated since
    late = _act(client, admin, late, "start")
    late = _act(client, admin, late, "resolve", note="talked to them")
    late = _act(client, admin, late, "close")
    return {
        "on_time": on_time["id"],
        "late": late["id"],
        "open_repair": open_repair["id"],
        "cancelled": cancelled["id"],
    }


def _listed(client: httpx.Client, h: H, **query: str) -> list[dict[str, Any]]:
    response = client.get(f"{V1}/cases", params={"limit": "500", **query}, headers=h)
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda c: int(c["id"]))


def _parsed(value: Any) -> Any:
    """A JSON value as the XLSX holds it: instants as local dates to the second."""
    if isinstance(value, str) and len(value) > 18 and value[4] == "-" and value[10] == "T":
        at = datetime.fromisoformat(value)
        return at.astimezone(ZoneInfo(ZONE)).replace(tzinfo=None, microsecond=0)
    return value


def test_the_case_exports_are_the_list(
    client: httpx.Client, headers: dict[str, H], world: dict[str, Any], month: str
) -> None:
    admin = headers["admin"]
    listed = _listed(client, admin, compound="c1")
    assert {c["id"] for c in listed} == set(world.values())

    response = client.get(f"{V1}/exports/cases.csv", params={"compound": "c1"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [c["id"] for c in listed]
    for row, case in zip(rows, listed, strict=True):
        assert set(row) == set(case), "the CSV's columns are the list's fields"
        for field, value in case.items():
            if value is None:
                assert row[field] == "", field
            elif field.endswith(("_at", "_due")):
                assert datetime.fromisoformat(row[field]) == datetime.fromisoformat(value)
                assert row[field].endswith("+08:00"), "in the compound's time zone"
            else:
                assert row[field] == str(value), field

    response = client.get(
        f"{V1}/exports/cases.xlsx", params={"compound": "c1", "month": month}, headers=admin
    )
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["案件"]  # no Accept-Language: Chinese
    sheet = book["案件"]
    assert sheet.freeze_panes == "A2"
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][0] == "案件编号"
    assert table[0][8] == f"受理时间 ({ZONE})"
    fields = [c.name for c in reports.CASE_COLUMNS]
    assert set(fields) == set(listed[0])
    for values, case in zip(table[1:], listed, strict=True):
        for field, got in zip(fields, values, strict=True):
            want = _parsed(case[field])
            assert got == want, (field, got, want)
            assert type(got) is type(want), (field, type(got), type(want))
    english = client.get(
        f"{V1}/exports/cases.xlsx",
        params={"compound": "c1", "state": "closed"},
        headers={**admin, "Accept-Language": "en-GB,en;q=0.9"},
    )
    book = openpyxl.load_workbook(io.BytesIO(english.content))
    assert book.sheetnames == ["Cases"]
    ids = [r[0] for r in book["Cases"].iter_rows(min_row=2, values_only=True)]
    assert ids == sorted([world["on_time"], world["late"]])

    audit = client.get(f"{V1}/audit", params={"action": "export"}, headers=admin).json()
    subjects = {e["subject"] for e in audit["data"]}
    assert {"cases.csv", "cases.xlsx"} <= subjects


def test_the_kpi_exports_are_the_kpis_route(
    client: httpx.Client, headers: dict[str, H], world: dict[str, Any]
) -> None:
    admin = headers["admin"]
    now = datetime.now(UTC)
    window = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
        "timezone": "UTC",
    }
    kpis = client.get(f"{V1}/kpis", params={"by": "grid", **window}, headers=admin).json()["data"]
    by_key = {k["key"]: k for k in kpis}
    g1 = by_key["c1/g1"]
    assert (g1["due"], g1["closed"], g1["closed_on_time"], g1["on_time_rate"]) == (2, 2, 1, 0.5)
    assert g1["resolve_median_s"] is not None

    response = client.get(f"{V1}/exports/kpis.csv", params={"by": "grid", **window}, headers=admin)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["key"] for r in rows] == [k["key"] for k in kpis]
    for row, kpi in zip(rows, kpis, strict=True):
        for field, value in kpi.items():
            assert row[field] == ("" if value is None else str(value)), field

    response = client.get(
        f"{V1}/exports/kpis.xlsx",
        params={"by": "grid", "lang": "en", **window},
        headers=admin,
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["KPIs"]
    assert sheet.freeze_panes == "A2"
    header, *values = list(sheet.iter_rows(values_only=True))
    assert header[7] == "On-time rate"
    fields = [c.name for c in reports.KPI_COLUMNS]
    for row, kpi in zip(values, kpis, strict=True):
        for field, got in zip(fields, row, strict=True):
            if isinstance(kpi[field], float):  # a number cell (openpyxl reads 1.0 as 1)
                assert isinstance(got, int | float), field
                assert got == pytest.approx(kpi[field], rel=1e-12), field  # XML's digits
                continue
            assert got == kpi[field], field
            if kpi[field] is not None:
                assert type(got) is type(kpi[field]), field
    rate_cell = sheet.cell(row=2, column=fields.index("on_time_rate") + 1)
    assert rate_cell.number_format == "0.0%"

    staff = client.get(
        f"{V1}/exports/kpis.csv",
        params={"by": "staff", "compound": "c1", "grid": "g1", **window},
        headers=admin,
    )
    people = {r["key"]: r for r in csv.DictReader(io.StringIO(staff.text.lstrip("\ufeff")))}
    # g1's cadre handled both of its cases by name; nobody else did.
    assert staff.status_code == 200, staff.text
    assert set(people) == {"c1/s-cadre1"}, staff.text
    assert (people["c1/s-cadre1"]["received"], people["c1/s-cadre1"]["closed_on_time"]) == (
        "2",
        "1",
    )


def test_a_grid_worker_exports_their_grids_only(
    client: httpx.Client, headers: dict[str, H], world: dict[str, Any], month: str
) -> None:
    worker = headers["grid_worker"]  # grid c1/g2
    response = client.get(f"{V1}/exports/cases.csv", headers=worker)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {int(r["id"]) for r in rows} == {world["open_repair"], world["cancelled"]}
    assert {int(r["id"]) for r in rows} == {c["id"] for c in _listed(client, worker)}

    refused = [
        (f"{V1}/exports/cases.csv", {"compound": "c1", "grid": "g1"}, "not one of your grids"),
        (f"{V1}/exports/cases.xlsx", {"compound": "c2"}, "outside your grids"),
        (f"{V1}/exports/kpis.xlsx", {"compound": "c1", "grid": "g1"}, "not one of your grids"),
        (f"{V1}/reports/evaluation.pdf", {"compound": "c9", "month": month}, "outside your"),
    ]
    for path, query, reason in refused:
        response = client.get(path, params=query, headers=worker)
        assert response.status_code == 403, (path, response.text)
        assert reason in response.json()["detail"], response.text
    # A grid filter without its compound is ambiguous (ids repeat across compounds).
    response = client.get(f"{V1}/exports/cases.csv", params={"grid": "g2"}, headers=worker)
    assert response.status_code == 422
    assert "needs its `compound`" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "query", "reason"),
    [
        ("/exports/cases.csv", {"month": "2026-13"}, "the month must be 01 to 12"),
        ("/exports/kpis.xlsx", {"month": "0001-01"}, "the year must be 2000 to 2199"),
        ("/exports/cases.xlsx", {"month": "last month"}, "a month is written YYYY-MM"),
        (
            "/exports/cases.csv",
            {"from": "2026-11-02T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"},
            "`to` must be after `from`",
        ),
        (
            "/exports/kpis.csv",
            {"from": "1990-01-01T00:00:00+00:00", "to": "2026-01-01T00:00:00+00:00"},
            "at most 3700 days",
        ),
        ("/exports/cases.csv", {"timezone": "Mars/Olympus"}, "not a known time zone"),
        ("/reports/evaluation.pdf", {"compound": "c1", "month": "2026-00"}, "01 to 12"),
        ("/reports/evaluation.pdf", {"compound": "c1", "month": "9999-01"}, "2000 to 2199"),
    ],
)
def test_an_absurd_period_is_refused_with_the_reason(
    client: httpx.Client, admin: H, path: str, query: dict[str, str], reason: str
) -> None:
    response = client.get(f"{V1}{path}", params=query, headers=admin)
    assert response.status_code == 422, response.text
    assert reason in response.json()["detail"], response.text


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _rendered(pdf: bytes, tmp: Path) -> list[Image.Image]:
    """The PDF's pages as images, rendered by poppler's pdftoppm (what a reader shows)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is not installed (.ci/run installs poppler-utils)")
    (tmp / "r.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp / "r.pdf"), str(tmp / "p")], check=True)
    return [Image.open(f).convert("RGB") for f in sorted(tmp.glob("p-*.png"))]


def _heads(page: str, name: str) -> bool:
    """Whether the page opens a section of that name (under its page number)."""
    return name in page.splitlines()[:2]


def test_the_evaluation_report_per_grid_and_per_party(
    client: httpx.Client,
    headers: dict[str, H],
    world: dict[str, Any],
    month: str,
    tmp_path: Path,
) -> None:
    admin = headers["admin"]
    response = client.get(
        f"{V1}/reports/evaluation.pdf",
        params={"compound": "c1", "month": month, "by": "grid"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pages = _pages(response.content)
    assert len(pages) >= 3  # the overview, then one section per grid
    images = _rendered(response.content, tmp_path)
    assert len(images) == len(pages)
    for image in images:  # every page renders with ink on it, the overview's chart in colour
        assert image.getextrema() != ((255, 255), (255, 255), (255, 255))
    colours = {c for _, c in images[0].getcolors(1 << 16) or [] if len(set(c)) > 1}
    assert len(colours) >= 2
    first = pages[0]
    assert "考核报告" in first
    assert "按网格" in first
    assert "Test compound" in first
    assert "g1" in first
    assert "g2" in first
    g1 = next(p for p in pages[1:] if _heads(p, "g1"))
    g2 = next(p for p in pages[1:] if _heads(p, "g2"))
    assert "50.0%" in g1  # one of two closed on time
    assert "Cadre 1" in g1  # the per-person KPIs of the grid team's worker
    assert "超期案件" in g1
    assert "督办案件" in g1
    # g2: the repair left unacknowledged is listed as overdue and as escalated.
    assert str(world["open_repair"]) in g2
    assert g2.count("repair") >= 3  # by category, overdue, escalated

    english = client.get(
        f"{V1}/reports/evaluation.pdf",
        params={"compound": "c1", "month": month, "by": "party", "lang": "en"},
        headers=admin,
    )
    pages = _pages(english.content)
    assert "evaluation report" in pages[0]
    assert "by party" in pages[0]
    assert "Property company" in pages[0]  # the repair's party
    assert "grid_team:g1" in pages[0]
    assert "50.0%" in pages[0]

    worker = client.get(
        f"{V1}/reports/evaluation.pdf",
        params={"compound": "c1", "month": month, "by": "grid"},
        headers=headers["grid_worker"],
    )
    pages = _pages(worker.content)
    assert len(pages) == 2  # the overview and their one grid
    assert _heads(pages[1], "g2")
    assert "Cadre 1" not in "".join(pages)
    audit = client.get(f"{V1}/audit", params={"action": "export"}, headers=admin).json()
    assert sum(e["subject"] == "evaluation.pdf" for e in audit["data"]) == 3


def test_the_cli_writes_the_report(api_db: str, tmp_path: Path, month: str) -> None:
    out = tmp_path / "report.pdf"
    done = subprocess.run(
        [
            DAYUAN,
            "report",
            "evaluation",
            "--compound",
            "c1",
            "--month",
            month,
            "--by",
            "party",
            "--out",
            str(out),
        ],
        env={"DAYUAN_DATABASE_URL": api_db, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout
    assert "考核报告" in _pages(out.read_bytes())[0]
    bad = subprocess.run(
        [
            DAYUAN,
            "report",
            "evaluation",
            "--compound",
            "c1",
            "--month",
            "2026-13",
            "--out",
            str(out),
        ],
        env={"DAYUAN_DATABASE_URL": api_db, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1
    assert "the month must be 01 to 12" in bad.stderr


def test_a_large_export_streams_every_case(
    client: httpx.Client, admin: H, app: FastAPI, conn: Conn
) -> None:
    """More cases than one page of the export's reads (cases.ITER_BATCH): every one is in
    the file, once, and the body comes in chunks rather than one sized answer."""
    workflow = app.state.dayuan.workflow
    count = 2 * cases.ITER_BATCH + 7
    for i in range(count):
        workflow.intake_report(
            conn,
            cases.Report(
                compound="c1",
                category="repair",
                description=f"report {i}",
                reporter="r-1",
                location="1-1-101",
            ),
        )
    with client.stream("GET", f"{V1}/exports/cases.csv", headers=admin) as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        body = b"".join(response.iter_bytes())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    ids = [int(r["id"]) for r in rows]
    assert len(ids) == count
    assert len(set(ids)) == count
    assert ids == sorted(ids)
    assert {r["description"] for r in rows} == {f"report {i}" for i in range(count)}


def test_the_evaluation_report_shows_each_grids_care_programmes(
    client: httpx.Client, headers: dict[str, H], month: str, clock: FakeClock
) -> None:
    """The grids' care figures of the month: a table on the first page, and each grid's
    in its section (g2: an overdue visit, a meal missed; g1: no care at all)."""
    admin = headers["admin"]
    plan = {
        "compound": "c1",
        "flat": "3-2-301",
        "tag": "empty_nest",
        "visitor": "s-care",
        "interval_days": 7,
        "starts_at": (clock.now() - timedelta(days=10)).isoformat(),
    }
    assert client.post(f"{V1}/care/plans", json=plan, headers=admin).status_code == 201
    meals = {"compound": "c1", "flat": "3-2-301", "meal": "dinner", "weekdays": list(range(1, 8))}
    made = client.post(f"{V1}/care/meals", json=meals | {"deliverer": "p-care"}, headers=admin)
    missed = {"compound": "c1", "schedule_id": made.json()["id"], "done": False}
    assert client.post(f"{V1}/care/deliveries", json=missed, headers=admin).status_code == 201

    for lang, overview, section in (
        ("zh", "各网格养老服务", "养老服务"),
        ("en", "Care programmes by grid", "Care programmes"),
    ):
        response = client.get(
            f"{V1}/reports/evaluation.pdf",
            params={"compound": "c1", "month": month, "by": "grid", "lang": lang},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        pages = _pages(response.content)
        assert overview in pages[0]
        # g2's row: 1 plan, 0 due, 1 overdue, 0 visits, no rate, 0 follow-ups, 0 / 1 / 0 meals
        assert "g2\n1\n0\n1\n0\n-\n0\n0\n1\n0" in pages[0], pages[0]
        g1 = next(p for p in pages[1:] if _heads(p, "g1"))
        g2 = next(p for p in pages[1:] if _heads(p, "g2"))
        assert section in g2
        assert "g2\n1\n0\n1\n0\n-\n0\n0\n1\n0" in g2
        assert section not in g1  # no plan, follow-up or schedule in g1
    by_party = client.get(
        f"{V1}/reports/evaluation.pdf",
        params={"compound": "c1", "month": month, "by": "party"},
        headers=admin,
    )
    first = _pages(by_party.content)[0]  # the grids' care on the first page all the same
    assert "各网格养老服务" in first
    assert "g2\n1\n0\n1\n0\n-\n0\n0\n1\n0" in first
