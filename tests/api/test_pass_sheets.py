"""GET /passes/sheets.pdf: many windscreen passes in one A4 PDF whose QR codes decode back to the passes."""
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import zxingcpp

from factory import create_app
from tests.api.helpers import API, assert_problem
from tests.api.pass_helpers import apply, build_world, change, issued
from tests.conftest import KEYS
from tests.factories import USCC, make_firm

SHEETS = f"{API}/passes/sheets.pdf"
pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="pdftoppm (poppler-utils) is installed by make test")


@pytest.fixture
def world(session, areas, cipher, now):
    return build_world(session, areas, cipher, now)


def _pdf(client, world, ids, who="firm", **query):
    return client.get(SHEETS, query_string={"ids": ",".join(ids), **query}, headers=world.headers(who))


def _pages(pdf: bytes, tmp_path, dpi=150) -> list[tuple[int, int, bytes]]:
    """Each page rasterised by poppler as 8-bit grey: (width, height, pixels)."""
    source = tmp_path / "sheets.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(source), str(tmp_path / "page")], check=True)
    pages = []
    for path in sorted(tmp_path.glob("page*.pgm")):
        data = path.read_bytes()
        magic, width, height, maxval, pixels = data.split(maxsplit=4)
        assert magic == b"P5" and maxval == b"255"
        pages.append((int(width), int(height), pixels[:int(width) * int(height)]))
    return pages


def _decoded(page) -> list[str]:
    width, height, pixels = page
    image = memoryview(pixels).cast("B", (height, width))
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_every_qr_of_the_sheets_decodes_back_to_its_pass(client, world, tmp_path):
    passes = [issued(client, world, vehicle=i) for i in range(3)]
    response = _pdf(client, world, [p["id"] for p in passes])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    pages = _pages(response.data, tmp_path)
    assert len(pages) == 2                                   # two passes a page
    assert [sorted(_decoded(p)) for p in pages] == [sorted(p["qr"] for p in passes[:2]), [passes[2]["qr"]]]
    # A4 portrait (210 × 297 mm) at 150 dpi, give or take poppler's rounding of a pixel.
    assert all(abs(w - 1240) <= 1 and abs(h - 1754) <= 1 for w, h, _ in pages)


def test_one_pass_a_page_and_the_qr_is_at_least_60_mm(client, world, tmp_path):
    vpass = issued(client, world)
    pages = _pages(_pdf(client, world, [vpass["id"]], per_page=1).data, tmp_path)
    [page] = pages
    assert _decoded(page) == [vpass["qr"]]
    width, height, pixels = page
    result = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))[0]
    side_px = result.position.top_right.x - result.position.top_left.x
    assert side_px / 150 * 25.4 >= 60                         # millimetres on paper


def test_the_page_text_is_chinese_first_with_english_and_beijing_time(client, world, tmp_path):
    vpass = issued(client, world)
    source = tmp_path / "one.pdf"
    source.write_bytes(_pdf(client, world, [vpass["id"]]).data)
    text = subprocess.run(["pdftotext", "-layout", str(source), "-"], capture_output=True, check=True,
                          text=True).stdout
    assert "保供车辆通行证" in text and "Essential-supply vehicle pass" in text
    assert vpass["plate"] in text
    assert "深圳市海吉星蔬菜配送有限公司" in text
    assert "蔬菜 vegetables" in text
    assert "北京时间 Beijing time" in text
    start = datetime.fromisoformat(vpass["valid_from"]).astimezone(timezone(timedelta(hours=8)))
    assert start.strftime("%Y-%m-%d %H:%M") in text
    assert "南园街道 Nanyuan Subdistrict" in text


def test_stopped_and_pending_passes_are_refused_with_the_reason(client, world):
    active = issued(client, world, vehicle=0)
    revoked = issued(client, world, vehicle=1)
    suspended = issued(client, world, vehicle=2)
    pending = apply(client, world, vehicle=3)
    assert change(client, world, revoked["id"], "revoke").status_code == 200
    assert change(client, world, suspended["id"], "suspend").status_code == 200
    response = _pdf(client, world, [active["id"], revoked["id"], suspended["id"], pending["id"], "ZZZZZZZZ"])
    body = assert_problem(response, 409, "passes_not_printable")
    assert body["details"]["refused"] == [
        {"id": revoked["id"], "reason": "revoked"}, {"id": suspended["id"], "reason": "suspended"},
        {"id": pending["id"], "reason": "pending"}, {"id": "ZZZZZZZZ", "reason": "not_found"}]
    assert revoked["id"] in body["detail"]


def test_another_firms_pass_is_not_found_and_a_regulator_prints_its_area(client, session, areas, cipher, now,
                                                                          world):
    vpass = issued(client, world)
    other, other_token = make_firm(session, areas, now, uscc=USCC[1], name="另一家公司")
    response = client.get(SHEETS, query_string={"ids": vpass["id"]}, headers={"Authorization": f"Bearer {other_token}"})
    assert assert_problem(response, 409)["details"]["refused"] == [{"id": vpass["id"], "reason": "not_found"}]
    assert _pdf(client, world, [vpass["id"]], who="futian").status_code == 200
    assert assert_problem(_pdf(client, world, [vpass["id"]], who="nanshan"), 409)["details"]["refused"][0][
        "reason"] == "not_found"
    assert_problem(_pdf(client, world, [vpass["id"]], who="officer"), 403)


def test_bad_query_parameters_are_refused(client, world):
    assert_problem(_pdf(client, world, ["SHORT"]), 422)
    assert_problem(_pdf(client, world, ["ABCDEFGH"], per_page=3), 422)
    assert_problem(_pdf(client, world, ["ABCDEFGH"] * 201), 422)


def test_without_a_cjk_font_the_answer_is_a_clear_503(database_url, session, areas, cipher, now, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, **KEYS,
                      "PDF_FONT": str(tmp_path / "missing.ttf")})
    try:
        client = app.test_client()
        world = build_world(session, areas, cipher, now)
        vpass = issued(client, world)
        body = assert_problem(_pdf(client, world, [vpass["id"]]), 503, "pdf_font_missing")
        assert "GREENLANE_PDF_FONT" in body["detail"]
    finally:
        app.extensions["db"].engine.dispose()


def test_the_openapi_document_describes_the_pdf(client):
    operation = client.get(f"{API}/openapi.json").get_json()["paths"][SHEETS]["get"]
    assert "application/pdf" in operation["responses"]["200"]["content"]
    assert {p["name"] for p in operation["parameters"]} == {"ids", "per_page"}
