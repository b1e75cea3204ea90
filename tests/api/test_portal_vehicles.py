"""The portal's vehicle pages: list, plate search, add, correct the kind, another firm's ids, hostile input."""
import pytest
from sqlalchemy import select

from tests.api.helpers import audit_rows, fetch
from tests.api.portal_helpers import HOSTILE, field_error, firm_user, other_firm, page, value_of
from tests.api.web_helpers import assert_strict_page_headers, csrf_token_of, html_of, post_form
from tests.factories import make_vehicle
from whitelist.models import Vehicle, VehicleKind

GOOD = {"plate": "粤b 54321", "hk_plate": "", "kind": "truck"}


@pytest.fixture
def firm(client, session, areas, now):
    return firm_user(client, session, areas, now)[0]


def _vehicles(session) -> list[Vehicle]:
    session.expire_all()
    return list(fetch(session, select(Vehicle).order_by(Vehicle.id)).scalars())


def test_the_list_shows_only_the_firms_vehicles_and_finds_a_plate_by_part(client, session, areas, now, firm):
    make_vehicle(session, areas, now, firm_id=firm.id, plate="粤B12345")
    make_vehicle(session, areas, now, firm_id=firm.id, plate="粤Z1234港", hk_plate="AB1234")
    make_vehicle(session, areas, now, firm_id=other_firm(session, areas, now).id, plate="粤B99999")
    response, html = page(client, "/portal/vehicles")
    assert response.status_code == 200 and "粤B12345" in html and "AB1234" in html and "粤B99999" not in html
    assert "共 2 辆" in html
    assert_strict_page_headers(response)
    found = page(client, "/portal/vehicles?q=粤b123")[1]
    assert "粤B12345" in found and "粤Z1234港" not in found


def test_adding_a_vehicle_normalises_the_plate(client, session, firm):
    response = post_form(client, "/portal/vehicles/new", GOOD)
    assert response.status_code == 303
    (vehicle,) = _vehicles(session)
    assert (vehicle.firm_id, vehicle.plate, vehicle.kind, vehicle.hk_plate) == (firm.id, "粤B54321", VehicleKind.TRUCK,
                                                                                None)


@pytest.mark.parametrize("form, field, message", [
    ({"plate": "粤B1"}, "plate", "不是有效的车牌号码。"),
    ({"plate": ""}, "plate", "此项必填。"),
    ({"kind": ""}, "kind", "此项必填。"),
    ({"plate": "粤Z1234港"}, "hk_plate", "跨境车辆（粤Z…港/澳）还须填写香港车牌。"),
    ({"plate": "粤Z1234港", "hk_plate": "??"}, "hk_plate", "不是有效的香港车牌。"),
])
def test_bad_input_is_shown_beside_its_field_and_kept(client, session, firm, form, field, message):
    response = post_form(client, "/portal/vehicles/new", {**GOOD, **form})
    html = html_of(response)
    assert response.status_code == 422 and field_error(html, field) == message
    assert value_of(html, "plate") == {**GOOD, **form}["plate"]
    assert _vehicles(session) == []


def test_a_plate_registered_anywhere_is_refused_beside_the_plate(client, session, areas, now, firm):
    make_vehicle(session, areas, now, firm_id=other_firm(session, areas, now).id, plate="粤B54321")
    response = post_form(client, "/portal/vehicles/new", GOOD)
    assert response.status_code == 422 and field_error(html_of(response), "plate") == "此车牌已登记。"


def test_the_kind_is_corrected_and_the_plate_cannot_be(client, session, areas, now, firm):
    vehicle = make_vehicle(session, areas, now, firm_id=firm.id)
    url = f"/portal/vehicles/{vehicle.id}"
    assert 'name="plate"' not in page(client, url)[1]
    assert post_form(client, url, {"kind": "tractor", "plate": "粤B00000"}).status_code == 303
    (saved,) = _vehicles(session)
    assert (saved.kind, saved.plate) == (VehicleKind.TRACTOR, "粤B12345")
    assert audit_rows(session, action="vehicle.updated")[0].changes == {"kind": ["van", "tractor"]}
    bad = post_form(client, url, {"kind": "rocket"})
    assert bad.status_code == 422 and field_error(html_of(bad), "kind") == "请从列表中选择。"


def test_another_firms_vehicle_is_not_found_on_every_url(client, session, areas, now, firm):
    theirs = make_vehicle(session, areas, now, firm_id=other_firm(session, areas, now).id, plate="粤B99999")
    url = f"/portal/vehicles/{theirs.id}"
    assert page(client, url)[0].status_code == 404
    token = csrf_token_of(page(client, "/portal/vehicles/new")[1])
    response = client.post(url, data={"csrf_token": token, "kind": "car"})
    assert response.status_code == 404 and _vehicles(session)[0].kind is VehicleKind.VAN


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_is_shown_inert(client, session, firm, text):
    for url in ("/portal/vehicles/new",):
        html = html_of(post_form(client, url, {**GOOD, "plate": text}))
        assert "<script>alert" not in html and "<img src=x" not in html
    html = page(client, "/portal/vehicles?q=" + text[:20])[1]
    assert "<script>alert" not in html and "<img src=x" not in html


# ---- CSV import ---------------------------------------------------------------------------------------

def _upload(client, body: bytes):
    from io import BytesIO
    token = csrf_token_of(html_of(client.get("/portal/vehicles/import")))
    return client.post("/portal/vehicles/import", data={"csrf_token": token, "file": (BytesIO(body), "v.csv")},
                       content_type="multipart/form-data")


def test_a_vehicle_import_with_bad_rows_lists_them_translated_and_saves_nothing(client, session, areas, now, firm):
    make_vehicle(session, areas, now, firm_id=other_firm(session, areas, now).id, plate="粤B99999")
    body = "plate,hk_plate,kind\r\n粤B12345,,van\r\n粤Z1234港,,truck\r\n粤B99999,,van\r\n粤B12345,,car\r\n".encode()
    response = _upload(client, body)
    html = html_of(response)
    assert response.status_code == 422 and "有 3 处错误，没有导入任何记录" in html
    import re
    rows = re.findall(r'<tr><td class="mono">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', html)
    assert rows == [("3", "香港车牌", "跨境车辆（粤Z…港/澳）还须填写香港车牌。"), ("4", "车牌号码", "此车牌已登记。"),
                    ("5", "车牌号码", "与第 2 行是同一辆车。")]
    assert len(_vehicles(session)) == 1


def test_the_vehicle_template_imports_and_the_list_says_how_many(client, session, firm):
    template = client.get("/portal/vehicles/import/template.csv")
    assert template.mimetype == "text/csv"
    assert _upload(client, template.get_data()).status_code == 303
    assert [v.plate for v in _vehicles(session)] == ["粤B12345", "粤Z1234港"]
    assert "已导入 2 辆车。" in page(client, "/portal/vehicles")[1]
