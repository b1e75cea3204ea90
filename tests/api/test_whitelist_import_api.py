"""API tests for the bulk CSV import of a firm's people: all rows or none, every error with its line."""
import json

import pytest
from sqlalchemy import func, select

from core.accounts import Role
from core.audit import AuditEntry
from tests.api.helpers import (API, assert_problem, audit_rows, count, csv_body, csv_row, fetch, resident_ids,
                               uscc, wrong_check_digit)
from tests.factories import RESIDENT_IDS, bearer, make_firm, make_person, make_token
from whitelist.models import Person

IDS = resident_ids(5)


@pytest.fixture
def firm(session, areas, now):
    """A Futian firm and its token."""
    return make_firm(session, areas, now, area_code="440304")


def _import(client, firm_id, token, body: bytes, content_type="text/csv"):
    return client.post(f"{API}/firms/{firm_id}/people/import", data=body, content_type=content_type,
                       headers=bearer(token))


def _rejected(response) -> list[dict]:
    body = assert_problem(response, 422, "import_rejected")
    assert "nothing was imported" in body["detail"]
    return body["errors"]


def _nothing_imported(session):
    assert count(session, Person) == 0
    assert audit_rows(session, action="people.imported") == []


@pytest.mark.parametrize("bom", [False, True])
def test_a_valid_file_imports_every_row_with_or_without_bom(client, session, firm, bom):
    firm_row, token = firm
    rows = [csv_row(IDS[0], kind="driver"), csv_row(IDS[1], name="陈大文", phone="+852 9123 4567"),
            csv_row("A123456(3)", kind="cross_border_driver", id_type="hk_id", name="Chan Tai Man")]
    response = _import(client, firm_row.id, token, csv_body(rows, bom=bom))
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["imported"] == 3 and result["last_id"] - result["first_id"] == 2
    people = client.get(f"{API}/people", headers=bearer(token)).get_json()
    assert [(p["kind"], p["name"], p["id_number"]) for p in people] == [
        ("driver", "王小明", IDS[0][:4] + "*" * 10 + IDS[0][-4:]),
        ("courier", "陈大文", IDS[1][:4] + "*" * 10 + IDS[1][-4:]),
        ("cross_border_driver", "Chan Tai Man", "A1****63")]
    assert {p["firm_id"] for p in people} == {firm_row.id}
    [entry] = audit_rows(session, action="people.imported")
    assert (entry.object_type, entry.object_id, entry.actor_role) == ("firm", str(firm_row.id), "firm")
    assert entry.changes == {"count": 3, "first_id": result["first_id"], "last_id": result["last_id"]}


def test_a_file_with_three_bad_rows_is_rejected_whole_with_every_error_by_line(client, session, firm):
    firm_row, token = firm
    rows = [csv_row(IDS[0]),                                   # line 2: fine
            csv_row(wrong_check_digit(IDS[1])),                # line 3: check digit
            csv_row(IDS[2]),                                   # line 4: fine
            csv_row(IDS[3], kind="pilot", phone="12345"),      # line 5: two errors
            csv_row(IDS[4], id_type="ssn")]                    # line 6: unknown id type
    errors = _rejected(_import(client, firm_row.id, token, csv_body(rows)))
    assert [(e["row"], e["column"]) for e in errors] == [(3, "id_number"), (5, "kind"), (5, "phone"),
                                                         (6, "id_type")]
    assert "check digit" in errors[0]["message"]
    assert all(set(e) == {"row", "column", "message"} and e["message"] for e in errors)
    assert wrong_check_digit(IDS[1]) not in json.dumps(errors)
    _nothing_imported(session)


def test_the_same_person_twice_in_one_file_is_an_error_on_the_later_line(client, session, firm):
    firm_row, token = firm
    rows = [csv_row(IDS[0]), csv_row(IDS[1]), csv_row(IDS[0].lower(), name="别名"),
            csv_row(" ".join([IDS[1][:6], IDS[1][6:]]))]
    errors = _rejected(_import(client, firm_row.id, token, csv_body(rows)))
    assert errors == [{"row": 4, "column": "id_number", "message": "same person as line 2"},
                      {"row": 5, "column": "id_number", "message": "same person as line 3"}]
    _nothing_imported(session)


def test_a_row_naming_someone_already_on_the_list_is_an_error(client, session, areas, cipher, now, firm):
    firm_row, token = firm
    make_person(session, areas, cipher, now, firm_id=firm_row.id, id_number=RESIDENT_IDS[0])
    errors = _rejected(_import(client, firm_row.id, token, csv_body([csv_row(IDS[0]), csv_row(RESIDENT_IDS[0])])))
    assert errors == [{"row": 3, "column": "id_number", "message": "already on the firm's list"}]
    assert count(session, Person) == 1
    assert audit_rows(session, action="people.imported") == []


def test_a_missing_column_is_reported_on_the_header_line(client, session, firm):
    firm_row, token = firm
    body = csv_body([f"courier,王小明,{IDS[0]}"], header="kind,name,id_number")
    errors = _rejected(_import(client, firm_row.id, token, body))
    assert errors == [{"row": 1, "column": "id_type", "message": "missing column"},
                      {"row": 1, "column": "phone", "message": "missing column"}]
    _nothing_imported(session)


def test_columns_in_another_order_with_an_extra_column_are_fine(client, session, firm):
    firm_row, token = firm
    body = csv_body([f"13800138000,{IDS[0]},备注,cn_resident_id,王小明,courier"],
                    header="phone,id_number,note,id_type,name,kind")
    assert _import(client, firm_row.id, token, body).get_json()["imported"] == 1
    assert count(session, Person) == 1


@pytest.mark.parametrize("body,message", [
    ("kind,name,id_type,id_number,phone\r\ncourier,王小明,cn_resident_id,X,138,extra\r\n".encode(),
     "more values than columns"),
    (b"kind,name,id_type,id_number,phone\r\n", "no data rows"),
    (b"", "missing column"),
])
def test_a_malformed_or_empty_file_is_rejected(client, session, firm, body, message):
    firm_row, token = firm
    errors = _rejected(_import(client, firm_row.id, token, body))
    assert any(message in e["message"] for e in errors)
    _nothing_imported(session)


def test_a_file_that_is_not_utf8_is_rejected(client, session, firm):
    firm_row, token = firm
    body = "\r\n".join(["kind,name,id_type,id_number,phone", csv_row(IDS[0], name="张三")]).encode("gbk")
    errors = _rejected(_import(client, firm_row.id, token, body))
    assert len(errors) == 1 and "UTF-8" in errors[0]["message"]
    _nothing_imported(session)


@pytest.mark.parametrize("content_type", ["application/json", "multipart/form-data; boundary=x",
                                          "application/vnd.ms-excel"])
def test_a_body_that_is_not_csv_is_a_415(client, session, firm, content_type):
    firm_row, token = firm
    response = _import(client, firm_row.id, token, csv_body([csv_row(IDS[0])]), content_type=content_type)
    assert "text/csv" in assert_problem(response, 415, "unsupported_media_type")["detail"]
    _nothing_imported(session)


def test_text_csv_with_a_charset_parameter_is_accepted(client, session, firm):
    firm_row, token = firm
    response = _import(client, firm_row.id, token, csv_body([csv_row(IDS[0])]), "text/csv; charset=utf-8")
    assert response.status_code == 201 and count(session, Person) == 1


def test_only_the_firm_itself_and_its_regulators_may_import(client, session, areas, now, firm):
    firm_row, _ = firm
    _, other_token = make_firm(session, areas, now, uscc=uscc("MA5G0001"), area_code="440305")
    outsider = make_token(session, areas, now, Role.REGULATOR, area_code="440305")
    auditor = make_token(session, areas, now, Role.AUDITOR)
    body = csv_body([csv_row(IDS[0])])
    assert_problem(_import(client, firm_row.id, other_token, body), 403, "forbidden")
    assert_problem(_import(client, firm_row.id, outsider, body), 403, "forbidden")
    assert_problem(_import(client, firm_row.id, auditor, body), 403, "forbidden")
    assert_problem(client.post(f"{API}/firms/{firm_row.id}/people/import", data=body, content_type="text/csv"),
                   401)
    _nothing_imported(session)
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    assert _import(client, firm_row.id, regulator, body).get_json()["imported"] == 1
    assert audit_rows(session, action="people.imported")[0].actor_role == "regulator"
    assert_problem(_import(client, 999, regulator, body), 404, "firm_not_found")


def test_two_thousand_rows_import_in_one_go_with_one_audit_entry(client, session, firm):
    firm_row, token = firm
    numbers = resident_ids(2000)
    assert len(set(numbers)) == 2000
    response = _import(client, firm_row.id, token, csv_body([csv_row(n) for n in numbers], bom=True))
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["imported"] == 2000
    ids = fetch(session, select(Person.id).where(Person.firm_id == firm_row.id).order_by(Person.id)).scalars().all()
    assert len(ids) == 2000 and (ids[0], ids[-1]) == (result["first_id"], result["last_id"])
    assert fetch(session, select(func.count(func.distinct(Person.id_hash)))).scalar_one() == 2000
    [entry] = audit_rows(session, action="people.imported")
    assert entry.changes["count"] == 2000
    assert count(session, AuditEntry) == 3  # firm registered, its account created, the import
    listed = client.get(f"{API}/people", query_string={"page_size": 1}, headers=bearer(token))
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2000
    found = client.get(f"{API}/people", query_string={"id_type": "cn_resident_id", "id_number": numbers[1234]},
                       headers=bearer(token)).get_json()
    assert [p["id_number"] for p in found] == [numbers[1234][:4] + "*" * 10 + numbers[1234][-4:]]
