"""The portal's people pages: list, search, paging, add, correct, CSV import, another firm's ids, hostile names."""
import pytest
from sqlalchemy import select

from tests.api.helpers import audit_rows, count, csv_body, csv_row, fetch, resident_ids, wrong_check_digit
from tests.api.portal_helpers import HOSTILE, assert_inert, field_error, firm_user, other_firm, page, value_of
from tests.api.web_helpers import assert_strict_page_headers, csrf_token_of, html_of, post_form
from tests.factories import RESIDENT_IDS, make_person
from whitelist.models import Person, PersonKind

GOOD = {"kind": "driver", "name": "王师傅", "id_type": "cn_resident_id", "id_number": RESIDENT_IDS[1],
        "phone": "13900139001"}


@pytest.fixture
def firm(client, session, areas, now):
    return firm_user(client, session, areas, now)[0]


def _people(session) -> list[Person]:
    session.expire_all()
    return list(fetch(session, select(Person).order_by(Person.id)).scalars())


def test_the_list_shows_the_firms_people_masked_and_finds_them_by_name_or_last_digits(client, session, areas, cipher,
                                                                                      now, firm):
    make_person(session, areas, cipher, now, firm_id=firm.id, name="李师傅")
    make_person(session, areas, cipher, now, firm_id=firm.id, name="张快递", kind=PersonKind.COURIER,
                id_number=RESIDENT_IDS[1])
    make_person(session, areas, cipher, now, firm_id=other_firm(session, areas, now).id, name="南山司机")
    response, html = page(client, "/portal/people")
    assert response.status_code == 200 and "李师傅" in html and "张快递" in html and "南山司机" not in html
    assert RESIDENT_IDS[0] not in html and "4403**********0009" in html and "共 2 人" in html
    assert_strict_page_headers(response)
    assert "张快递" not in page(client, "/portal/people?q=李")[1]
    by_digits = page(client, "/portal/people?q=002X")[1]  # 11010519491231002X
    assert "张快递" in by_digits and "李师傅" not in by_digits
    assert "没有找到符合条件的人员" in page(client, "/portal/people?q=9999")[1]


def test_the_list_pages_by_25(client, session, areas, cipher, now, firm):
    for n, number in enumerate(resident_ids(27)):
        make_person(session, areas, cipher, now, firm_id=firm.id, name=f"司机{n:02d}", id_number=number)
    first, second = page(client, "/portal/people")[1], page(client, "/portal/people?page=2")[1]
    assert "司机00" in first and "司机24" in first and "司机25" not in first and "第 1 / 2 页" in first
    assert "司机25" in second and "司机26" in second and "司机00" not in second and 'rel="prev"' in second
    assert page(client, "/portal/people?page=abc")[0].status_code == 200  # nonsense page → the first


def test_a_search_with_a_control_character_is_refused_beside_the_field(client, firm):
    response, html = page(client, "/portal/people?q=%00")
    assert response.status_code == 422 and 'id="q-error"' in html


def test_adding_a_person_with_the_apis_rules_and_the_id_masked_afterwards(client, session, firm):
    response = post_form(client, "/portal/people/new", GOOD)
    assert response.status_code == 303 and response.headers["Location"] == "/portal/people"
    (person,) = _people(session)
    assert (person.firm_id, person.name, person.id_masked) == (firm.id, "王师傅", "1101**********002X")
    assert "已添加：王师傅" in page(client, "/portal/people")[1]


@pytest.mark.parametrize("field, value, message", [
    ("name", "", "此项必填。"),
    ("kind", "", "此项必填。"),
    ("kind", "pilot", "请从列表中选择。"),
    ("id_type", "", "此项必填。"),
    ("id_number", wrong_check_digit(RESIDENT_IDS[1]), "校验位不符，请核对号码。"),
    ("id_number", "440304000101001", "15 位身份证号已停用，请填写 18 位号码。"),
    ("phone", "12345", "不是有效的内地或香港电话号码。"),
    ("name", "x" * 101, "最多 100 个字符。"),
])
def test_bad_input_is_shown_beside_its_field_kept_and_nothing_is_written(client, session, firm, field, value,
                                                                        message):
    response = post_form(client, "/portal/people/new", {**GOOD, field: value})
    html = html_of(response)
    assert response.status_code == 422 and field_error(html, field) == message
    assert value_of(html, "name") == ({**GOOD, field: value}["name"])  # input kept
    assert _people(session) == [] and audit_rows(session, action="person.registered") == []


def test_english_readers_get_the_message_in_english(client, firm):
    client.get("/lang/en")
    response = post_form(client, "/portal/people/new", {**GOOD, "phone": "12345"})
    assert field_error(html_of(response), "phone") == "Not a valid mainland or Hong Kong phone number."


def test_the_same_person_twice_is_refused_beside_the_id_number(client, session, areas, cipher, now, firm):
    make_person(session, areas, cipher, now, firm_id=firm.id, id_number=RESIDENT_IDS[1])
    response = post_form(client, "/portal/people/new", GOOD)
    assert response.status_code == 422 and field_error(html_of(response), "id_number") == "此人已在本单位名单上。"
    assert len(_people(session)) == 1


def test_correcting_name_and_phone_keeps_the_identity_and_is_audited(client, session, areas, cipher, now, firm):
    person = make_person(session, areas, cipher, now, firm_id=firm.id)
    url = f"/portal/people/{person.id}"
    html = page(client, url)[1]
    assert "李师傅" in html and "4403**********0009" in html and 'name="id_number"' not in html
    response = post_form(client, url, {"name": "李大师傅", "phone": "13700137000"})
    assert response.status_code == 303
    (saved,) = _people(session)
    assert (saved.name, saved.phone_masked, saved.id_hash) == ("李大师傅", "+86 137****7000", person.id_hash)
    (entry,) = audit_rows(session, action="person.updated")
    assert entry.changes == {"name": ["李师傅", "李大师傅"], "phone": ["+86 139****9000", "+86 137****7000"]}
    bad = post_form(client, url, {"name": "", "phone": "12"})
    assert bad.status_code == 422 and field_error(html_of(bad), "phone") == "不是有效的内地或香港电话号码。"


def test_another_firms_person_is_not_found_on_every_url(client, session, areas, cipher, now, firm):
    theirs = make_person(session, areas, cipher, now, firm_id=other_firm(session, areas, now).id)
    url = f"/portal/people/{theirs.id}"
    assert page(client, url)[0].status_code == 404
    token = csrf_token_of(page(client, "/portal/people/new")[1])
    response = client.post(url, data={"csrf_token": token, "name": "改名"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert _people(session)[0].name == "李师傅"
    assert page(client, "/portal/people/999999")[0].status_code == 404


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_shown_inert_on_the_list_the_record_and_the_form(client, session, areas, cipher, now,
                                                                          firm, name):
    person = make_person(session, areas, cipher, now, firm_id=firm.id, name=name[:100])
    for url in ("/portal/people", f"/portal/people/{person.id}"):
        response, html = page(client, url)
        assert response.status_code == 200 and "<script>alert" not in html and "<img src=x" not in html
    if name.startswith("<"):
        assert_inert(page(client, "/portal/people")[1])
    response = post_form(client, "/portal/people/new", {**GOOD, "name": name})  # 2,000 characters: too long
    html = html_of(response)
    assert "<script>alert" not in html and "<img src=x" not in html


# ---- CSV import ---------------------------------------------------------------------------------------

def _upload(client, body: bytes, filename="people.csv"):
    from io import BytesIO
    token = csrf_token_of(html_of(client.get("/portal/people/import")))
    return client.post("/portal/people/import", data={"csrf_token": token, "file": (BytesIO(body), filename)},
                       content_type="multipart/form-data")


def test_an_import_with_bad_rows_lists_every_row_and_column_and_saves_nothing(client, session, firm):
    numbers = resident_ids(4)
    body = csv_body([csv_row(numbers[0]), csv_row(wrong_check_digit(numbers[1])),
                     csv_row(numbers[2], kind="pilot", phone="1"), csv_row(numbers[0])])
    response = _upload(client, body)
    html = html_of(response)
    assert response.status_code == 422 and 'id="import-errors"' in html
    assert "有 4 处错误，没有导入任何记录" in html
    rows = [tuple(cell.strip() for cell in row) for row in
            __import__("re").findall(r'<tr><td class="mono">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', html)]
    assert rows == [("3", "证件号码", "校验位不符，请核对号码。"), ("4", "人员类别", "请从列表中选择。"),
                    ("4", "手机号码", "不是有效的内地或香港电话号码。"), ("5", "证件号码", "与第 2 行是同一人。")]
    assert count(session, Person) == 0


def test_a_good_import_adds_every_row_and_says_how_many(client, session, firm):
    response = _upload(client, csv_body([csv_row(n) for n in resident_ids(3)], bom=True))
    assert response.status_code == 303
    assert count(session, Person) == 3 and "已导入 3 人。" in page(client, "/portal/people")[1]
    again = _upload(client, csv_body([csv_row(resident_ids(1)[0])]))
    assert "此人已在本单位名单上。" in html_of(again) and count(session, Person) == 3


def test_an_import_without_a_file_or_a_header_says_so(client, session, firm):
    token = csrf_token_of(html_of(client.get("/portal/people/import")))
    response = client.post("/portal/people/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 422 and field_error(html_of(response), "file") == "请选择要上传的 CSV 文件。"
    missing = html_of(_upload(client, b"name,phone\r\nx,1\r\n"))
    assert "文件缺少这一列。" in missing and count(session, Person) == 0
    latin = html_of(_upload(client, "kind,name\r\ndriver,M\xfcller\r\n".encode("latin-1")))
    assert "不是 UTF-8 编码" in latin


def test_hostile_names_in_an_import_are_inert_in_the_error_table(client, firm):
    body = csv_body([csv_row(resident_ids(1)[0], name="<script>alert(1)</script>", phone="x")])
    html = html_of(_upload(client, body))
    assert "<script>alert" not in html


def test_the_template_csv_is_a_valid_import(client, session, firm):
    response = client.get("/portal/people/import/template.csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert _upload(client, response.get_data()).status_code == 303 and count(session, Person) == 1


def test_a_suspended_firm_sees_its_list_frozen(client, session, areas, now, firm):
    from core.accounts import SYSTEM
    from whitelist.services import change_firm_status
    change_firm_status(session, firm.id, "suspend", actor=SYSTEM, areas=areas, now=now, reason="检查")
    html = page(client, "/portal/people")[1]
    assert "名单已冻结" in html and 'id="add-person"' not in html
    response = post_form(client, "/portal/people/new", GOOD)
    assert response.status_code == 409 and "本单位已被暂停" in html_of(response) and count(session, Person) == 0


def test_a_wrong_id_number_and_a_wrong_phone_are_both_shown_at_once(client, session, firm):
    response = post_form(client, "/portal/people/new", {**GOOD, "id_number": wrong_check_digit(RESIDENT_IDS[1]),
                                                        "phone": "12345"})
    html = html_of(response)
    assert field_error(html, "id_number") == "校验位不符，请核对号码。"
    assert field_error(html, "phone") == "不是有效的内地或香港电话号码。"


def test_portal_imports_count_against_the_firms_import_allowance(app_factory, session, areas, now):
    client = app_factory(RATELIMIT_IMPORT="1 per hour").test_client()
    firm_user(client, session, areas, now)
    assert _upload(client, csv_body([csv_row(resident_ids(1)[0])])).status_code == 303
    response = _upload(client, csv_body([csv_row(resident_ids(2)[1])]))
    assert response.status_code == 429 and "操作太频繁" in html_of(response) and count(session, Person) == 1
