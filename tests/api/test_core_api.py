"""API tests for the core contract: areas, authentication, the audit log and the OpenAPI document."""
import json
import re
from datetime import datetime

import pytest

from core.accounts import SYSTEM, Role, find_account_by_token, revoke_account
from core.areas import read_reference_areas
from core.audit import GENESIS_HASH, entry_hash
from tests.api.helpers import API, assert_problem, audit_via_api, count, firm_json, uscc
from tests.factories import bearer, make_firm, make_token
from whitelist.models import Firm

DISTRICTS = {
    "440303": ("罗湖区", "Luohu District"), "440304": ("福田区", "Futian District"),
    "440305": ("南山区", "Nanshan District"), "440306": ("宝安区", "Bao'an District"),
    "440307": ("龙岗区", "Longgang District"), "440308": ("盐田区", "Yantian District"),
    "440309": ("龙华区", "Longhua District"), "440310": ("坪山区", "Pingshan District"),
    "440311": ("光明区", "Guangming District"),
}


# ---- areas -----------------------------------------------------------------------------------------

def test_the_city_lists_its_nine_districts_with_both_names_without_a_token(client):
    response = client.get(f"{API}/areas", query_string={"parent": "440300"})
    assert response.status_code == 200
    body = response.get_json()
    assert {a["code"]: (a["name_zh"], a["name_en"]) for a in body} == DISTRICTS
    assert {a["level"] for a in body} == {"district"}
    assert {a["parent_code"] for a in body} == {"440300"}
    assert [a["code"] for a in body] == sorted(DISTRICTS)


def test_one_district_is_described_by_code_level_names_and_parent(client):
    response = client.get(f"{API}/areas/440304")
    assert response.status_code == 200
    assert response.get_json() == {"code": "440304", "level": "district", "name_zh": "福田区",
                                   "name_en": "Futian District", "parent_code": "440300"}


def test_a_street_names_its_district_as_parent_and_districts_list_their_streets(client):
    street = client.get(f"{API}/areas/440304001").get_json()
    assert street["level"] == "street" and street["parent_code"] == "440304"
    assert street["name_zh"] == "南园街道"
    streets = client.get(f"{API}/areas", query_string={"parent": "440304"}).get_json()
    assert [s["code"] for s in streets] == sorted(
        r.code for r in read_reference_areas() if r.parent_code == "440304")
    assert len(streets) >= 10
    assert all(s["code"].startswith("440304") and len(s["code"]) == 9 for s in streets)


def test_the_city_is_the_root_of_the_tree(client):
    city = client.get(f"{API}/areas/440300").get_json()
    assert (city["level"], city["name_zh"]) == ("city", "深圳市")


@pytest.mark.parametrize("code", ["440399", "999999", "abc"])
def test_an_unknown_area_is_a_404_problem(client, code):
    body = assert_problem(client.get(f"{API}/areas/{code}"), 404, "not_found")
    assert code in body["detail"]


# ---- authentication --------------------------------------------------------------------------------

def test_a_protected_endpoint_without_a_token_is_a_401_problem(client):
    body = assert_problem(client.get(f"{API}/firms"), 401, "unauthorized")
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize("header", ["Bearer gl_" + "A" * 43, "Bearer not-a-greenlane-token",
                                    "Bearer gl_" + "x" * 300])
def test_an_unknown_token_is_a_401_problem(client, header):
    body = assert_problem(client.get(f"{API}/firms", headers={"Authorization": header}), 401, "unauthorized")
    assert body["detail"] == "the token is unknown or revoked"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    "])
def test_a_header_without_a_bearer_token_counts_as_no_token(client, header):
    assert_problem(client.get(f"{API}/firms", headers={"Authorization": header}), 401, "unauthorized")


def test_a_revoked_token_stops_working_at_once(client, session, areas, now):
    token = make_token(session, areas, now, Role.AUDITOR)
    assert client.get(f"{API}/firms", headers=bearer(token)).status_code == 200
    account = find_account_by_token(session, token)
    revoke_account(session, account.id, actor=SYSTEM, now=now)
    body = assert_problem(client.get(f"{API}/firms", headers=bearer(token)), 401, "unauthorized")
    assert body["detail"] == "the token is unknown or revoked"


def test_a_bad_token_on_the_open_registration_is_a_401_and_registers_nothing(client, session):
    response = client.post(f"{API}/firms", json=firm_json(), headers=bearer("gl_wrong"))
    assert_problem(response, 401, "unauthorized")
    assert count(session, Firm) == 0


@pytest.mark.parametrize("url", ["/public/firms?q=a%00b", "/areas?parent=44%0003", "/areas/44%0003",
                                 "/audit?object_id=1%00", "/vehicles?plate=%00", "/firms?area=%00"])
def test_a_nul_byte_in_a_query_is_never_a_500(client, session, areas, now, url):
    make_firm(session, areas, now)
    admin = make_token(session, areas, now, Role.ADMIN)
    response = client.get(API + url, headers=bearer(admin))
    assert response.status_code in (200, 404, 422)
    assert response.status_code == 200 or response.mimetype == "application/problem+json"


# ---- audit log -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role,binding", [(Role.AUDITOR, {}), (Role.REGULATOR, {"area_code": "440304"}),
                                          (Role.ADMIN, {})])
def test_auditors_regulators_and_admins_read_the_audit_log(client, session, areas, now, role, binding):
    firm, _ = make_firm(session, areas, now)
    token = make_token(session, areas, now, role, **binding)
    entries = audit_via_api(client, token, object_type="firm", object_id=firm.id)
    assert [e["action"] for e in entries] == ["firm.registered"]
    assert entries[0]["changes"]["uscc"] == firm.uscc


@pytest.mark.parametrize("role,binding", [(Role.FIRM, "firm"), (Role.OFFICER, {"site_id": 1}),
                                          (Role.YARD, {"site_id": 1}), (Role.HEALTH, {})])
def test_other_roles_may_not_read_the_audit_log(client, session, areas, now, role, binding):
    firm, firm_token = make_firm(session, areas, now)
    token = firm_token if binding == "firm" else make_token(session, areas, now, role, **binding)
    body = assert_problem(client.get(f"{API}/audit", headers=bearer(token)), 403, "forbidden")
    assert role.value in body["detail"]


def test_the_audit_log_needs_a_token(client):
    assert_problem(client.get(f"{API}/audit"), 401, "unauthorized")


def _some_history(client, session, areas, now) -> tuple[str, int]:
    """Register, approve, suspend and reinstate through the API; return an auditor token and the firm id."""
    regulator = make_token(session, areas, now, Role.REGULATOR, area_code="440304")
    firm_id = client.post(f"{API}/firms", json=firm_json()).get_json()["id"]
    for action in ("approve", "suspend", "reinstate"):
        assert client.post(f"{API}/firms/{firm_id}/{action}", headers=bearer(regulator)).status_code == 200
    client.post(f"{API}/firms", json=firm_json(uscc=uscc("MA5G0001")), headers=bearer(regulator))
    return make_token(session, areas, now, Role.AUDITOR), firm_id


def test_audit_entries_are_hash_linked_from_the_genesis_hash(client, session, areas, now):
    auditor, _ = _some_history(client, session, areas, now)
    entries = audit_via_api(client, auditor)
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)  # newest first
    chain = entries[::-1]
    assert [e["seq"] for e in chain] == list(range(1, len(chain) + 1))
    assert [e["action"] for e in chain] == [
        "account.created", "firm.registered", "account.created", "firm.approved", "firm.suspended",
        "firm.reinstated", "firm.registered", "account.created", "account.created"]
    assert chain[0]["prev_hash"] == GENESIS_HASH
    for previous, entry in zip(chain, chain[1:]):
        assert entry["prev_hash"] == previous["hash"]
    for entry in chain:
        fields = {k: entry[k] for k in ("seq", "actor_id", "actor_name", "actor_role", "action",
                                        "object_type", "object_id", "changes", "prev_hash")}
        assert entry_hash(at=datetime.fromisoformat(entry["at"]), **fields) == entry["hash"]
        assert re.fullmatch(r"[0-9a-f]{64}", entry["hash"])


def test_the_audit_log_filters_by_object_and_by_action(client, session, areas, now):
    auditor, firm_id = _some_history(client, session, areas, now)
    firm_entries = audit_via_api(client, auditor, object_type="firm", object_id=firm_id)
    assert [e["action"] for e in firm_entries] == ["firm.reinstated", "firm.suspended", "firm.approved",
                                                   "firm.registered"]
    assert {(e["object_type"], e["object_id"]) for e in firm_entries} == {("firm", str(firm_id))}
    created = audit_via_api(client, auditor, action="account.created")
    assert all(e["action"] == "account.created" for e in created)
    assert {e["changes"]["role"] for e in created} >= {"firm", "regulator", "auditor"}


def test_the_audit_log_is_paginated_with_an_x_pagination_header(client, session, areas, now):
    auditor, _ = _some_history(client, session, areas, now)
    response = client.get(f"{API}/audit", query_string={"page": 2, "page_size": 4}, headers=bearer(auditor))
    assert [e["seq"] for e in response.get_json()] == [5, 4, 3, 2]
    meta = json.loads(response.headers["X-Pagination"])
    assert (meta["total"], meta["total_pages"], meta["page"]) == (9, 3, 2)


# ---- OpenAPI ---------------------------------------------------------------------------------------

def _api_rules(app):
    """Every /api/v1 URL rule of the app, except the two that serve the documentation itself."""
    return [r for r in app.url_map.iter_rules()
            if r.rule.startswith(API) and not r.endpoint.startswith("api-docs.")]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def _view_method(app, rule, method):
    view = app.view_functions[rule.endpoint]
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, method.lower()) if view_class else view


def test_the_openapi_document_lists_every_api_rule_and_method(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    paths = response.get_json()["paths"]
    expected = {(_openapi_path(r.rule), m.lower()) for r in _api_rules(app)
                for m in r.methods - {"HEAD", "OPTIONS"}}
    documented = {(p, m) for p, ops in paths.items() for m in ops if m != "parameters"}
    assert expected and expected == documented
    # The documentation rules exist too, so the comparison above excluded exactly two of them.
    assert {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("api-docs.")} == {
        f"{API}/openapi.json", f"{API}/docs"}


def test_the_openapi_document_declares_bearer_auth_on_every_protected_operation(app, client):
    spec = client.get(f"{API}/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    protected = 0
    for rule in _api_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            roles = getattr(_view_method(app, rule, method), "required_roles", None)
            operation = spec["paths"][_openapi_path(rule.rule)][method.lower()]
            if roles:
                protected += 1
                assert {"bearer": []} in operation.get("security", []), (rule.rule, method)
    assert protected >= 15
    assert spec["paths"][f"{API}/firms"]["post"]["security"] == [{}, {"bearer": []}]


def test_the_openapi_document_describes_errors_as_problem_json(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert "application/problem+json" in default["content"]
