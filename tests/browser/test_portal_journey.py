"""The firm portal's journey of issue 9, in Debian's headless Chromium, as a dispatcher does it: apply as a
new firm (in Chinese), get approved (the regulator's step is done through the API here), import 200 drivers
with one bad row (refused, the row named, nothing saved) and then without it, import 200 vehicles, apply
for 200 passes from one CSV, see them pending, print the PDF of the approved passes (its pages rendered to
PNG and every QR decoded back with zxing-cpp), switch to English, sign out."""
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select
from stdnum.cn import ric

from core.accounts import Role
from tests.api.pass_helpers import clock
from tests.browser.shots import layout_problems, screenshot_dir
from tests.factories import bearer, make_token
from whitelist.models import Firm

zxingcpp = pytest.importorskip("zxingcpp")
pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm is installed by make test")

N = 200
USCC = "91440300MA5G00000R"
PASSWORD = "dispatcher pass 2026"


def driver_ids(n: int) -> list[str]:
    """n valid, distinct mainland resident identity numbers (synthetic: born 1980-01-01 in Futian)."""
    bodies = [f"44030419800101{seq:03d}" for seq in range(1, n + 1)]
    return [body + ric.calc_check_digit(body + "0") for body in bodies]  # stdnum wants a placeholder check


def plates(n: int) -> list[str]:
    return [f"粤B{10000 + i}" for i in range(1, n + 1)]


def people_csv(numbers: list[str], *, bad_row: int | None = None) -> bytes:
    lines = ["kind,name,id_type,id_number,phone"]
    for i, number in enumerate(numbers, start=2):  # line 1 is the header
        if i == bad_row:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")  # a wrong check digit
        lines.append(f"driver,司机{i - 1},cn_resident_id,{number},1390013{i:04d}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def vehicles_csv(all_plates: list[str]) -> bytes:
    return ("plate,hk_plate,kind\n" + "".join(f"{p},,truck\n" for p in all_plates)).encode("utf-8")


def fleet_csv(all_plates: list[str], numbers: list[str]) -> bytes:
    start = clock() - timedelta(minutes=5)
    end = start + timedelta(days=3)
    rows = [f"{p},{n},vegetables,440304001,{start.isoformat()},{end.isoformat()},配送蔬菜 vegetables"
            for p, n in zip(all_plates, numbers)]
    return ("plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose\n" + "\n".join(rows) + "\n").encode()


def upload(page, path: str, name: str, body: bytes) -> None:
    page.goto(path)
    page.set_input_files("#f-file", files=[{"name": name, "mimeType": "text/csv", "buffer": body}])
    page.click("#upload" if "import" in path else "#fleet-submit")
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> None:
    assert layout_problems(page) == [], name
    page.screenshot(path=str(screenshot_dir() / f"journey-{name}.png"), full_page=True)


def decode_pdf(pdf: bytes, tmp_path) -> list[str]:
    source = tmp_path / "passes.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", str(source), str(tmp_path / "page")], check=True)
    texts = []
    for png in sorted(tmp_path.glob("page-*.pgm")):
        data = png.read_bytes()
        header, pixels = data.split(b"\n", 3)[:3], data.split(b"\n", 3)[3]
        width, height = map(int, header[1].split())
        image = memoryview(pixels).cast("B", (height, width))
        texts += [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    return texts


def test_a_new_firm_goes_from_application_to_200_printed_passes(server, browser, app, client, session, areas,
                                                               now, tmp_path):
    numbers, all_plates = driver_ids(N), plates(N)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(60_000)
    page = context.new_page()

    # 1. Apply as a new firm, in Chinese, starting from the sign-in page.
    page.goto(f"{server}/signin")
    page.click("text=企业申请加入白名单")
    page.fill("#f-name", "深圳市福田绿通蔬菜配送有限公司")
    page.fill("#f-uscc", USCC)
    page.select_option("#f-category", "vegetables")
    page.select_option("#f-area_code", "440304001")
    page.fill("#f-address", "福田区南园街道 8 号")
    page.fill("#f-contact_name", "王经理")
    page.fill("#f-contact_phone", "13800138000")
    page.fill("#f-username", "wang.dispatch")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-password2", PASSWORD)
    page.click("#submit-application")
    page.wait_for_url(re.compile(r"/portal/$"))
    assert "待审核" in page.text_content("#firm-status")
    shot(page, "1-pending-zh")

    # 2. The district regulator approves the firm (through the API in this test).
    firm_id = session.scalar(select(Firm.id).where(Firm.uscc == USCC))
    futian = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert client.post(f"/api/v1/firms/{firm_id}/approve", json={"reason": "证照齐全"},
                       headers=bearer(futian)).status_code == 200
    page.reload()
    assert "已列入白名单" in page.text_content("#firm-status")

    # 3. 200 drivers with one bad row: refused, the row named, nothing saved; then the corrected file.
    upload(page, f"{server}/portal/people/import", "drivers.csv", people_csv(numbers, bad_row=58))
    errors = page.text_content("#import-errors")
    assert "58" in errors and "证件号码" in errors
    shot(page, "2-import-errors-zh")
    page.goto(f"{server}/portal/people")
    assert "司机1" not in page.text_content("main")
    upload(page, f"{server}/portal/people/import", "drivers.csv", people_csv(numbers))
    assert "200" in page.text_content(".flashes")

    # Health lab results for the drivers (the lab's own step, through the API), and 200 vehicles.
    lab = make_token(session, areas, now, Role.HEALTH)
    sampled = (clock() - timedelta(hours=2)).isoformat()
    tests = "id_type,id_number,sampled_at,result,lab\n" + "".join(
        f"cn_resident_id,{n},{sampled},negative,福田检测\n" for n in numbers)
    assert client.post("/api/v1/health-tests/import", data=tests.encode(), content_type="text/csv",
                       headers=bearer(lab)).status_code == 201
    upload(page, f"{server}/portal/vehicles/import", "vehicles.csv", vehicles_csv(all_plates))
    assert "200" in page.text_content(".flashes")

    # 4. 200 passes from one CSV; the list shows them pending.
    upload(page, f"{server}/portal/passes/fleet", "fleet.csv", fleet_csv(all_plates, numbers))
    page.wait_for_url(re.compile(r"/portal/passes"))
    assert page.text_content("#tab-pending .n").strip() == str(N)
    assert page.locator("li[id^=pass-] .status-pending").count() > 0
    shot(page, "3-passes-pending-zh")

    # 5. The regulator approves them (API); the PDF of every active pass carries all 200 QR codes.
    futian_pending = [item for number in (1, 2) for item in client.get(
        "/api/v1/passes", query_string={"status": "pending", "page_size": 100, "page": number},
        headers=bearer(futian)).get_json()]
    assert len(futian_pending) == N
    qr_texts = set()
    for item in futian_pending:
        answer = client.post(f"/api/v1/passes/{item['id']}/approve", headers=bearer(futian))
        assert answer.status_code == 200, answer.get_json()
        qr_texts.add(answer.get_json()["qr"])
    page.goto(f"{server}/portal/passes")
    assert page.text_content("#tab-active .n").strip() == str(N)
    pdf = context.request.get(f"{server}/portal/passes/sheets.pdf?all=active")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    decoded = decode_pdf(pdf.body(), tmp_path)
    assert set(decoded) == qr_texts and len(decoded) == N

    # 6. English, then sign out.
    page.click("header .lang a[lang=en]")
    assert re.sub(r"\s+", " ", page.text_content("#tab-active")).strip() == f"Valid {N}"
    assert page.text_content("h1").strip() == "Passes"
    assert page.evaluate("document.documentElement.lang") == "en"
    shot(page, "4-passes-active-en")
    page.click("header .user button[type=submit]")
    page.wait_for_url(re.compile(r"/signin\?signed_out=1$"))
    assert "signed out" in page.text_content(".notice")
    page.goto(f"{server}/portal/")
    assert "/signin" in page.url
    context.close()
