"""Tracing in the console (/console/trace): scans by plate, pass, driver (full identity number, never shown
back nor put in a URL), site and time window, scoped to the reader's area; handovers by container or seal;
CSV exports that a spreadsheet cannot run; bad input refused with a page, nothing changed."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.db import transaction
from logistics import services as logistics
from tests.api.checkpoint_helpers import DRIVER_IDS, PLATES, clock
from tests.api.console_reading_helpers import (FORMULAS, HOSTILE_FIRM, HOSTILE_PLATE, HOSTILE_SITE, console_client,
                                               ids_on, scanned_world, token_of)
from tests.api.logistics_helpers import CONTAINER, booking, build_relay
from tests.api.web_helpers import html_of
from web.console.reading import CHINA_TIME
from whitelist.models import Firm



@pytest.fixture
def world(app, client, session, areas, cipher, now):
    return scanned_world(app, client, session, areas, cipher, now)


def search(client, **fields):
    return client.post("/console/trace", data={"csrf_token": token_of(client, "/console/trace"), **fields})


def test_a_driver_is_found_by_identity_number_which_never_comes_back(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    response = search(client, id_type="cn_resident_id", id_number=DRIVER_IDS[0])
    html = html_of(response)
    assert response.status_code == 200
    scan = world["scan"]
    assert ids_on(html, "scan") == {scan["first_a"], scan["first_b"], scan["first_evil"]}
    assert DRIVER_IDS[0] not in html and DRIVER_IDS[0][-6:] not in html
    assert 'id="driver-notice"' in html
    # The export carries an opaque reference, not the number; the CSV holds the same three scans.
    ref = re.search(r'name="driver_ref" value="([^"]+)"', html).group(1)
    assert DRIVER_IDS[0] not in ref
    exported = client.post("/console/trace/scans.csv", data={"csrf_token": token_of(client, "/console/trace"),
                                                             "driver_ref": ref}, buffered=True)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"] and DRIVER_IDS[0] not in exported.headers[
        "Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + 3 and {r[3] for r in rows[1:]} == {world["first"].id}
    # Another driver: only the second pass's scan.
    other = html_of(search(client, id_type="cn_resident_id", id_number=DRIVER_IDS[1]))
    assert ids_on(other, "scan") == {scan["second_a"]}


def test_the_driver_reference_is_opaque_and_a_forged_one_is_refused(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    first = re.search(r'name="driver_ref" value="([^"]+)"',
                      html_of(search(client, id_number=DRIVER_IDS[0]))).group(1)
    again = re.search(r'name="driver_ref" value="([^"]+)"',
                      html_of(search(client, id_number=DRIVER_IDS[0]))).group(1)
    assert first != again  # not a stable handle on the person
    forged = search(client, driver_ref=first[:-4] + "AAAA")
    assert forged.status_code == 422 and 'id="f-id_number-error"' in html_of(forged)


def test_a_regulator_sees_only_scans_at_sites_in_its_area(app, session, areas, now, world):
    scan = world["scan"]
    plate = PLATES[0]
    futian = html_of(search(console_client(app, session, areas, now, "futian"), plate=plate))
    assert ids_on(futian, "scan") == {scan["first_a"], scan["first_evil"]}  # not the Pingshan site B
    nanshan = html_of(search(console_client(app, session, areas, now, "nanshan"), plate=plate))
    assert ids_on(nanshan, "scan") == set()
    auditor = html_of(search(console_client(app, session, areas, now, "auditor"), plate=plate))
    assert ids_on(auditor, "scan") == {scan["first_a"], scan["first_b"], scan["first_evil"]}


def test_search_by_pass_site_and_window_in_beijing_time(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    scan, post = world["scan"], world["post"]
    by_pass = client.get("/console/trace", query_string={"pass_id": world["second"].id.lower()})
    assert ids_on(html_of(by_pass), "scan") == {scan["second_a"]}
    at_b = html_of(search(client, site=str(post.site_ids["b"])))
    assert ids_on(at_b, "scan") == {scan["first_b"]}
    # The last 90 minutes, typed as Beijing wall-clock time: the scans 30 and 60 minutes ago.
    start = (clock() - timedelta(minutes=90)).astimezone(CHINA_TIME)
    window = html_of(search(client, start=start.strftime("%Y-%m-%dT%H:%M")))
    assert ids_on(window, "scan") == {scan["first_b"], scan["first_evil"]}


def test_the_scan_csv_neutralises_formulas_in_site_firm_and_plate(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    token, pass_id = token_of(client, "/console/trace"), world["first"].id
    session.close()
    exported = client.post("/console/trace/scans.csv", data={"csrf_token": token, "pass_id": pass_id}, buffered=True)
    # The download read its rows after the view returned: that session too is closed (no transaction held).
    assert app.extensions["db"].engine.pool.checkedout() == 0
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if c.startswith(FORMULAS)]
    assert "'" + HOSTILE_SITE in cells and "'" + HOSTILE_FIRM in cells and "'" + HOSTILE_PLATE in cells


def test_hostile_names_render_inert_on_the_page(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    with transaction(session):
        session.get(Firm, world["post"].firm_id).name = "<script>alert(1)</script>\u202eevil"
    html = html_of(search(client, pass_id=world["first"].id))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<bdi>&lt;script&gt;" in html  # the direction override stays inside its own isolate


@pytest.mark.parametrize("fields, field", [
    ({"start": "2026-13-45T99:99"}, "start"),
    ({"start": "0001-01-01T00:00"}, "start"),
    ({"start": "2026-03-14T10:00", "end": "2026-03-14T09:00"}, "end"),
    ({"plate": "粤B20001", "page": "99999999"}, "page"),
    ({"plate": "粤B20001", "page": "-1"}, "page"),
    ({"site": "abc"}, "site"),
    ({"id_number": "440304200001010000"}, "id_number"),  # wrong check digit
    ({"id_type": "bogus", "id_number": DRIVER_IDS[0]}, "id_type"),
])
def test_bad_input_is_shown_beside_its_field_and_changes_nothing(app, session, areas, now, world, fields, field):
    client = console_client(app, session, areas, now, "futian")
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    response = search(client, **fields)
    html = html_of(response)
    assert response.status_code == 422 and "scan-" not in html
    assert f'id="f-{field}-error"' in html or (field == "page" and 'class="form-error"' in html)
    assert DRIVER_IDS[0] not in html
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_a_page_past_the_last_is_refused(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    response = search(client, plate=PLATES[0], page="7")
    assert response.status_code == 422 and "第 7 页" in html_of(response)


def test_an_empty_export_request_is_an_error_page_not_a_file(app, session, areas, now, world):
    client = console_client(app, session, areas, now, "city")
    response = client.post("/console/trace/scans.csv", data={"csrf_token": token_of(client, "/console/trace")},
                           buffered=True)
    assert response.status_code == 422 and response.mimetype == "text/html"


# ---- handovers -------------------------------------------------------------------------------------

@pytest.fixture
def relay(app, session, areas, cipher, now):
    relay = build_relay(session, areas, cipher, app.extensions["keyring"], clock())
    data = booking(relay)
    data["cargo"]["description"] = "=cmd|' /C calc'!A0"
    handover = logistics.book_handover(session, data=data, actor=relay.actors["hk_firm"], now=clock())
    return {"relay": relay, "id": str(handover.id)}


def test_handovers_are_found_by_container_or_seal_in_the_readers_area(app, session, areas, now, relay):
    futian = console_client(app, session, areas, now, "futian")  # the yard lies in a Futian street
    by_container = html_of(futian.get("/console/trace/handovers", query_string={"container_no": CONTAINER.lower()}))
    assert ids_on(by_container, "handover") == {relay["id"]}
    by_seal = html_of(futian.get("/console/trace/handovers", query_string={"seal": "hk2026002"}))
    assert ids_on(by_seal, "handover") == {relay["id"]}
    partial = html_of(futian.get("/console/trace/handovers", query_string={"seal": "HK20260"}))
    assert ids_on(partial, "handover") == set()  # a seal is matched whole, never by a fragment
    nanshan = console_client(app, session, areas, now, "nanshan")
    assert ids_on(html_of(nanshan.get("/console/trace/handovers", query_string={"container_no": CONTAINER})),
                  "handover") == set()


def test_the_handover_csv_neutralises_formulas(app, session, areas, now, relay):
    client = console_client(app, session, areas, now, "auditor")
    exported = client.get("/console/trace/handovers.csv", query_string={"container_no": CONTAINER}, buffered=True)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][1] == CONTAINER
    assert "'=cmd|' /C calc'!A0" in rows[1]
    assert not [c for r in rows for c in r if c.startswith(FORMULAS)]


def test_bad_handover_input_is_refused_with_the_form(app, session, areas, now, relay):
    client = console_client(app, session, areas, now, "futian")
    for query in ({"start": "yesterday"}, {"yard": "0"}, {"container_no": CONTAINER, "page": "100001"}):
        response = client.get("/console/trace/handovers", query_string=query)
        assert response.status_code == 422 and "handover-" not in html_of(response), query
