"""Issue 13, item 5: uploads stop reading at the row limit, one address cannot multiply the window
limit by the number of windows."""
import io
import zipfile

import pytest
from openpyxl import Workbook

from app import imports, tabular
from app.errors import DomainError
from app.models import ResidentInvitation, ResidentResponse

from ..factories import make_unit
from .test_residents import ANSWERS, count, setup_types

HEADER = ["业务编号", "业务类型", "单位代码", "手机号"]


def _xlsx(n_rows: int, header=HEADER) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    for i in range(n_rows):
        sheet.append([f"J{i:06d}", "110 接处警", "PS01", f"138{i:08d}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_ROWS", 50)
    return 50


@pytest.fixture
def lines_read(monkeypatch):
    """How many rows the reader pulled out of the workbook."""
    pulled = []
    real = imports._xlsx_lines

    def counting(raw):
        for line in real(raw):
            pulled.append(1)
            yield line

    monkeypatch.setattr(imports, "_xlsx_lines", counting)
    return pulled


def test_rows_up_to_the_limit_are_read(app, small_limit):
    with app.test_request_context():
        rows = tabular.read_table("r.xlsx", _xlsx(50), required=tuple(HEADER))
    assert len(rows) == 50 and rows[-1].values["业务编号"] == "J000049" and rows[-1].number == 51


def test_a_longer_file_is_refused_before_openpyxl_reads_it(app, small_limit, lines_read):
    """openpyxl would read a sheet without <dimension> to its end on opening it: the rows are counted
    in the unzipped XML first, up to the one that breaks the limit."""
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        tabular.read_table("r.xlsx", _xlsx(5000), required=tuple(HEADER))
    assert "文件超过 50 行数据，已停止读取" in refused.value.message
    assert lines_read == []  # not one row parsed


def test_a_long_hidden_second_sheet_is_refused_too(app, small_limit):
    book = Workbook(write_only=True)
    first, second = book.create_sheet(), book.create_sheet()
    first.append(HEADER)
    for i in range(5000):
        second.append([i])
    out = io.BytesIO()
    book.save(out)
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        tabular.read_table("r.xlsx", out.getvalue(), required=tuple(HEADER))
    assert "文件超过 50 行数据" in refused.value.message


def test_streaming_stops_at_the_limit_as_well(app, small_limit, lines_read, monkeypatch):
    """The second guard: without the count, reading stops at the row after the limit, not at the end."""
    monkeypatch.setattr(imports, "_check_sheet_sizes", lambda raw, max_rows: None)
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        tabular.read_table("r.xlsx", _xlsx(5000), required=tuple(HEADER))
    assert "文件超过 50 行数据" in refused.value.message
    assert len(lines_read) == 52  # the header, 50 rows and the one that broke the limit: not 5,001


def test_csv_is_streamed_too(app, small_limit):
    text = ",".join(HEADER) + "\n" + "".join(f"J{i},110 接处警,PS01,138{i:08d}\n" for i in range(51))
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        tabular.read_table("r.csv", text.encode(), required=tuple(HEADER))
    assert "文件超过 50 行数据" in refused.value.message


def test_a_sheet_claiming_16384_columns_is_read_at_the_headers_width(app):
    raw = _xlsx(3)
    source, patched = zipfile.ZipFile(io.BytesIO(raw)), io.BytesIO()
    with zipfile.ZipFile(patched, "w") as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                head, tail = data.split(b"<sheetData>", 1)
                data = head + b'<dimension ref="A1:XFD4"/><sheetData>' + tail
            out.writestr(item, data)
    lines = imports.table_lines("r.xlsx", patched.getvalue(), 100)
    assert [len(line) for line in lines] == [4, 4, 4, 4]


def test_batch_upload_over_the_limit_says_so_and_invites_nobody(app, client, auth, small_limit):
    auth.as_role("admin", username="boss")
    setup_types(app)
    response = client.post("/residents/batch", data={"file": (io.BytesIO(_xlsx(51)), "records.xlsx"),
                                                     "fmt": "xlsx", "submit": "1"},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "文件超过 50 行数据，已停止读取，未导入任何内容" in response.get_data(as_text=True)
    assert count(app, ResidentInvitation) == 0


def test_a_damaged_xlsx_gets_a_message(app):
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        tabular.read_table("r.xlsx", b"PK\x03\x04 not really a workbook", required=tuple(HEADER))
    assert "无法读取该 Excel 文件" in refused.value.message


# ---- the window QR: one address across all windows -----------------------------------------------
def test_one_address_cannot_multiply_the_limit_across_windows(app):
    from app.extensions import db

    with app.app_context():
        for i in range(1, 6):
            make_unit(f"PS0{i}")
        db.session.commit()
    app.config.update(RESIDENT_WINDOW_RATE_LIMIT="2 per hour", RESIDENT_WINDOW_ADDRESS_RATE_LIMIT="4 per hour")
    try:
        # A fresh browser (no cookie) per answer, one address, one answer at each of five windows.
        codes = [app.test_client().post(f"/q/PS0{i}", data=ANSWERS).status_code for i in range(1, 6)]
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.20"
        other_address = elsewhere.post("/q/PS05", data=ANSWERS).status_code
    finally:
        del app.config["RESIDENT_WINDOW_RATE_LIMIT"], app.config["RESIDENT_WINDOW_ADDRESS_RATE_LIMIT"]
    assert codes == [302, 302, 302, 302, 429]
    assert other_address == 302
    assert count(app, ResidentResponse) == 5
