"""The authorization matrix: every route × role, and the area rule for regulators.

ROUTES is the reviewed table. A route the app has and the table lacks fails the first test, so no
endpoint can ship without someone deciding who may call it."""
import re

import pytest

from core.accounts import Role
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM

from tests.factories import bearer, make_firm, make_token

PUBLIC = "public"          # no token needed


def PAGE(*roles):
    """A page behind sign-in (a web session, not a token), open to these roles."""
    return ("page", roles)


ANY = tuple(Role)          # any valid token
A, R, F, O, Y, H, AU = (Role.ADMIN, Role.REGULATOR, Role.FIRM, Role.OFFICER, Role.YARD, Role.HEALTH, Role.AUDITOR)

ROUTES = {
    ("GET", "/api/v1/areas"): PUBLIC,
    ("GET", "/api/v1/areas/<code>"): PUBLIC,
    ("GET", "/api/v1/areas/<code>/risk"): PUBLIC,
    ("PUT", "/api/v1/areas/<code>/risk"): (R, A),
    ("GET", "/api/v1/trust-list"): PUBLIC,
    ("GET", "/api/v1/trust-list/signed"): PUBLIC,
    ("GET", "/api/v1/service-status"): PUBLIC,
    ("GET", "/api/v1/me"): ANY,
    ("GET", "/api/v1/audit"): (AU, R, A),
    ("GET", "/api/v1/sites"): (R, A, AU),
    ("POST", "/api/v1/sites"): (R, A),
    ("GET", "/api/v1/sites/<site_id>"): (R, A, AU, O, Y),
    ("PATCH", "/api/v1/sites/<site_id>"): (R, A),
    ("GET", "/api/v1/alerts"): (R, A, AU),
    ("POST", "/api/v1/alerts/<alert_id>/acknowledge"): (R, A),
    ("GET", "/api/v1/firms"): (A, R, AU, F),
    ("POST", "/api/v1/firms"): PUBLIC,  # anonymous applications; regulators register approved firms
    ("GET", "/api/v1/firms/<firm_id>"): (A, R, AU, F),
    ("POST", "/api/v1/firms/<firm_id>/approve"): (A, R),
    ("POST", "/api/v1/firms/<firm_id>/reject"): (A, R),
    ("POST", "/api/v1/firms/<firm_id>/revoke"): (A, R),
    ("POST", "/api/v1/firms/<firm_id>/suspend"): (A, R),
    ("POST", "/api/v1/firms/<firm_id>/reinstate"): (A, R),
    ("POST", "/api/v1/firms/<firm_id>/people/import"): (A, R, F),
    ("POST", "/api/v1/firms/<firm_id>/vehicles/import"): (A, R, F),
    ("GET", "/api/v1/firms/<firm_id>/users"): (A, F),  # the firm's own accounts; admins
    ("POST", "/api/v1/firms/<firm_id>/users"): (A, F),  # firm managers of that firm; admins
    ("POST", "/api/v1/firms/<firm_id>/users/<account_id>/revoke"): (A, F),
    ("GET", "/api/v1/public/firms"): PUBLIC,
    ("GET", "/api/v1/people"): (A, R, AU, F),
    ("POST", "/api/v1/people"): (A, R, F),
    ("GET", "/api/v1/people/<person_id>"): (A, R, AU, F),
    ("PATCH", "/api/v1/people/<person_id>"): (A, R, F),  # name and phone only
    ("POST", "/api/v1/people/<item_id>/suspend"): (A, R),
    ("POST", "/api/v1/people/<item_id>/reinstate"): (A, R),
    ("GET", "/api/v1/vehicles"): (A, R, AU, F),
    ("POST", "/api/v1/vehicles"): (A, R, F),
    ("GET", "/api/v1/vehicles/<vehicle_id>"): (A, R, AU, F),
    ("PATCH", "/api/v1/vehicles/<vehicle_id>"): (A, R, F),  # kind only
    ("POST", "/api/v1/vehicles/<item_id>/suspend"): (A, R),
    ("POST", "/api/v1/vehicles/<item_id>/reinstate"): (A, R),
    ("GET", "/api/v1/whitelist/export"): PUBLIC,
    ("GET", "/api/v1/passes"): (F, R, A, AU),
    ("POST", "/api/v1/passes"): (F,),
    ("POST", "/api/v1/passes/batch"): (F, R, A),  # regulators and admins: for a firm in their area
    ("POST", "/api/v1/passes/decisions"): (R,),  # bulk approve/reject: regulators only (issue 10)
    ("GET", "/api/v1/passes/sheets.pdf"): (F, R, A),
    ("GET", "/api/v1/passes/<pass_id>"): (F, R, A, AU),
    ("POST", "/api/v1/passes/<pass_id>/approve"): (R, A),
    ("POST", "/api/v1/passes/<pass_id>/reject"): (R, A),
    ("POST", "/api/v1/passes/<pass_id>/suspend"): (R, A),
    ("POST", "/api/v1/passes/<pass_id>/reinstate"): (R, A),
    ("POST", "/api/v1/passes/<pass_id>/revoke"): (R, A),
    ("GET", "/api/v1/passes/<pass_id>/qr.png"): PUBLIC,  # issued passes only; the QR is on the windscreen
    ("GET", "/api/v1/passes/<pass_id>/qr.svg"): PUBLIC,
    ("GET", "/api/v1/status-list"): PUBLIC,
    ("GET", "/api/v1/test-ages"): PUBLIC,
    ("GET", "/api/v1/policy"): PUBLIC,
    ("PUT", "/api/v1/policy"): (R, A),  # and the regulator must be the city's
    ("GET", "/api/v1/policy-bundle"): PUBLIC,
    ("POST", "/api/v1/health-tests"): (H,),
    ("POST", "/api/v1/health-tests/import"): (H,),
    ("GET", "/api/v1/scans"): (R, AU, A),
    ("POST", "/api/v1/scans"): (O,),
    ("GET", "/api/v1/routes/<crossing_id>/<yard_id>/checkpoints"): PUBLIC,
    ("PUT", "/api/v1/routes/<crossing_id>/<yard_id>/checkpoints"): (R, A),
    ("GET", "/api/v1/handovers"): (F, Y, R, AU, A),
    ("POST", "/api/v1/handovers"): (F,),
    ("GET", "/api/v1/handovers/<handover_id>"): (F, Y, R, AU, A),
    ("PUT", "/api/v1/handovers/<handover_id>/outbound"): (F,),
    ("POST", "/api/v1/handovers/<handover_id>/events"): (Y, R, A),  # regulators: exceptions only
    ("GET", "/api/v1/handovers/<handover_id>/custody"): (F, Y, R, AU, A),
    ("GET", "/api/v1/handovers/<handover_id>/custody.cose"): (F, Y, R, AU, A),
    ("GET", "/api/v1/yards/<yard_id>/board"): (Y, O, R, AU, A),  # officers: only one posted at that yard
    ("GET", "/passes/<pass_id>/print"): PUBLIC,
    ("GET", "/scan"): PUBLIC,
    ("GET", "/scan-sw.js"): PUBLIC,
    ("GET", "/yards/<yard_id>"): PUBLIC,  # the page; its data comes from the board API with a token
    ("GET", "/yards/<yard_id>/loads/<handover_id>"): PUBLIC,  # the same: the logistics API with a token
    ("GET", "/"): PUBLIC,  # web shell: landing page, language switch, public firm lookup
    ("GET", "/lang/<code>"): PUBLIC,
    ("GET", "/firms/lookup"): PUBLIC,
    ("GET", "/signin"): PUBLIC,  # sign-in pages: each handles a missing or half-done session itself
    ("POST", "/signin"): PUBLIC,
    ("GET", "/signin/code"): PUBLIC,
    ("POST", "/signin/code"): PUBLIC,
    ("GET", "/account"): PUBLIC,
    ("POST", "/account/code"): PUBLIC,
    ("POST", "/signout"): PUBLIC,
    ("GET", "/portal/"): PAGE(F),
    ("GET", "/portal/passes"): PAGE(F),
    ("GET", "/portal/passes/<pass_id>"): PAGE(F),
    ("GET", "/portal/passes/new"): PAGE(F),
    ("POST", "/portal/passes/new"): PAGE(F),
    ("GET", "/portal/passes/fleet"): PAGE(F),
    ("POST", "/portal/passes/fleet"): PAGE(F),
    ("GET", "/portal/passes/fleet/template.csv"): PAGE(F),
    ("GET", "/portal/passes/sheets.pdf"): PAGE(F),
    ("GET", "/portal/apply"): PUBLIC,  # a firm's application with its first user
    ("POST", "/portal/apply"): PUBLIC,
    ("GET", "/portal/people"): PAGE(F),
    ("GET", "/portal/people/new"): PAGE(F),
    ("POST", "/portal/people/new"): PAGE(F),
    ("GET", "/portal/people/<person_id>"): PAGE(F),
    ("POST", "/portal/people/<person_id>"): PAGE(F),
    ("GET", "/portal/people/import"): PAGE(F),
    ("POST", "/portal/people/import"): PAGE(F),
    ("GET", "/portal/people/import/template.csv"): PAGE(F),
    ("GET", "/portal/vehicles"): PAGE(F),
    ("GET", "/portal/vehicles/new"): PAGE(F),
    ("POST", "/portal/vehicles/new"): PAGE(F),
    ("GET", "/portal/vehicles/<vehicle_id>"): PAGE(F),
    ("POST", "/portal/vehicles/<vehicle_id>"): PAGE(F),
    ("GET", "/portal/vehicles/import"): PAGE(F),
    ("POST", "/portal/vehicles/import"): PAGE(F),
    ("GET", "/portal/vehicles/import/template.csv"): PAGE(F),
    ("GET", "/portal/users"): PAGE(F),  # clerks see the list; managers also add and revoke
    ("POST", "/portal/users"): PAGE(F),
    ("POST", "/portal/users/<account_id>/revoke"): PAGE(F),
    ("GET", "/console/dashboard"): PAGE(R, A, AU),  # charts; a regulator's own area only (?area= inside it)
    ("GET", "/console/firms"): PAGE(R, A, AU),  # C2: the firm queue, firm/person/vehicle pages, risk zones
    ("GET", "/console/firms/<firm_id>"): PAGE(R, A, AU),
    ("GET", "/console/firms/<firm_id>/decision"): PAGE(R, A),
    ("POST", "/console/firms/<firm_id>/decision"): PAGE(R, A),
    ("GET", "/console/people/<person_id>"): PAGE(R, A, AU),
    ("GET", "/console/people/<person_id>/decision"): PAGE(R, A),
    ("POST", "/console/people/<person_id>/decision"): PAGE(R, A),
    ("GET", "/console/vehicles/<vehicle_id>"): PAGE(R, A, AU),
    ("GET", "/console/vehicles/<vehicle_id>/decision"): PAGE(R, A),
    ("POST", "/console/vehicles/<vehicle_id>/decision"): PAGE(R, A),
    ("GET", "/console/zones"): PAGE(R, A, AU),
    ("GET", "/console/zones/<code>"): PAGE(R, A, AU),
    ("POST", "/console/zones/<code>"): PAGE(R, A),
    ("GET", "/console/alerts"): PAGE(R, A, AU),  # the alerts inbox; auditors read, never acknowledge
    ("POST", "/console/alerts/<alert_id>/acknowledge"): PAGE(R, A),
    ("GET", "/console/trace"): PAGE(R, A, AU),  # tracing: scans (POST when a driver's number is typed)
    ("POST", "/console/trace"): PAGE(R, A, AU),
    ("POST", "/console/trace/scans.csv"): PAGE(R, A, AU),
    ("GET", "/console/trace/handovers"): PAGE(R, A, AU),
    ("GET", "/console/trace/handovers.csv"): PAGE(R, A, AU),
    ("GET", "/console/audit"): PAGE(R, A, AU),  # audit trail per object and the (read-only) chain check
    ("GET", "/console/audit/<object_type>/<object_id>"): PAGE(R, A, AU),
    ("GET", "/console/audit/chain"): PAGE(R, A, AU),
    ("POST", "/console/audit/chain"): PAGE(R, A, AU),
    ("GET", "/console/"): PAGE(R, A, AU),  # the pending-pass queue: auditors read, never decide
    ("POST", "/console/decisions"): PAGE(R, A),  # bulk: the service then refuses admins (regulators only)
    ("GET", "/console/passes/<pass_id>"): PAGE(R, A, AU),
    ("POST", "/console/passes/<pass_id>/approve"): PAGE(R, A),
    ("POST", "/console/passes/<pass_id>/<action>"): PAGE(R, A),
}
SAMPLE = {"code": "440304", "pass_id": "AAAAAAAA", "object_type": "firm", "action": "revoke"}


def _app_routes(app):
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.endswith("static") or rule.endpoint.startswith("api-docs"):
            continue  # static files and the OpenAPI document/UI
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", rule.rule)
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            function = getattr(view_class, method.lower()) if view_class else view
            page_roles = getattr(function, "page_roles", None)
            found[(method, path)] = PAGE(*page_roles) if page_roles is not None else getattr(function, "required_roles", None)
    return found


def _url(path):
    return re.sub(r"<([^>]+)>", lambda m: SAMPLE.get(m.group(1), "1"), path)


def test_every_route_of_the_app_is_in_the_table_and_nothing_else(app):
    assert set(_app_routes(app)) == set(ROUTES)


def test_the_role_gates_in_the_code_match_the_table(app):
    for key, roles in _app_routes(app).items():
        expected = ROUTES[key]
        if isinstance(expected, tuple) and expected[:1] == ("page",):
            assert roles == expected, key
        elif expected == PUBLIC:
            assert roles in (None, ()), key  # () = optional token (POST /firms)
        else:
            assert set(roles) == set(expected), key


@pytest.fixture
def tokens(session, areas, now):
    firm, firm_token = make_firm(session, areas, now)
    site = create_site(session, data=dict(name="checkpoint", kind=SiteKind.CHECKPOINT, area_code="440304001",
                                          lat=22.5, lon=114.0, capacity=None), actor=SYSTEM, areas=areas, now=now)
    out = {Role.FIRM: firm_token}
    for role, extra in ((Role.ADMIN, {}), (Role.REGULATOR, {"area_code": "440304"}), (Role.OFFICER, {"site_id": site.id}),
                        (Role.YARD, {"site_id": site.id}), (Role.HEALTH, {}), (Role.AUDITOR, {})):
        out[role] = make_token(session, areas, now, role, **extra)
    return out


PAGES = sorted(k for k, v in ROUTES.items() if isinstance(v, tuple) and v[:1] == ("page",))


@pytest.mark.parametrize("key", [k for k in PAGES if k[0] == "GET"])
def test_a_page_behind_sign_in_sends_a_stranger_to_the_sign_in_page_and_back(client, key):
    method, path = key
    response = client.get(_url(path))
    assert response.status_code == 303, key
    assert response.headers["Location"] == "/signin?next=" + _url(path), key


@pytest.mark.parametrize("key", [k for k in PAGES if k[0] != "GET"])
def test_a_form_of_a_page_behind_sign_in_does_nothing_for_a_stranger(client, key):
    method, path = key
    response = client.open(_url(path), method=method, data={})
    assert response.status_code == 400 and response.mimetype == "text/html", key  # no CSRF token, no session


@pytest.mark.parametrize("key", sorted(k for k, v in ROUTES.items() if v != PUBLIC and k not in PAGES))
def test_a_protected_route_refuses_no_token_and_every_role_outside_its_list(client, tokens, key):
    method, path = key
    response = client.open(_url(path), method=method, json={})
    assert response.status_code == 401 and response.mimetype == "application/problem+json", key
    for role, token in tokens.items():
        response = client.open(_url(path), method=method, json={}, headers=bearer(token))
        if role in ROUTES[key]:
            assert response.status_code not in (401,), (key, role)
        else:
            assert response.status_code == 403, (key, role, response.status_code)
            assert response.get_json()["code"] == "forbidden"


# The area dimension: the same regulator action inside and outside the regulator's area.
@pytest.mark.parametrize("regulator_area, firm_area, expected", [
    ("440304", "440304001", 200),   # district regulator, firm in one of its streets
    ("440304", "440305", 403),      # another district
    ("440304001", "440304", 403),   # a street regulator above its street
    ("440300", "440305", 200),      # the city covers everything
])
def test_firm_approval_follows_the_area_rule(client, session, areas, now, regulator_area, firm_area, expected):
    firm, _ = make_firm(session, areas, now, approved=False, area_code=firm_area)
    token = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    response = client.post(f"/api/v1/firms/{firm.id}/approve", headers=bearer(token))
    assert response.status_code == expected
    assert (response.get_json()["status"] == "approved") if expected == 200 else response.get_json()["code"] == "forbidden"


@pytest.mark.parametrize("regulator_area, target_area, expected", [
    ("440304", "440304001", 200), ("440304", "440305001", 403), ("440300", "440305", 200)])
def test_risk_levels_follow_the_area_rule(client, session, areas, now, regulator_area, target_area, expected):
    token = make_token(session, areas, now, Role.REGULATOR, area_code=regulator_area)
    response = client.put(f"/api/v1/areas/{target_area}/risk", json={"level": "controlled", "reason": "test"},
                          headers=bearer(token))
    assert response.status_code == expected
