"""A body that is not JSON, sent to a route that reads JSON: 415 (text/plain, a form) or 400 (JSON that
does not parse), application/problem+json, nothing changed. The routes are those the OpenAPI document
gives a JSON request body, so a new write route is walked too; a path variable this file does not know
fails the test until someone adds a sample value."""
import re

import pytest
from sqlalchemy import select

from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from core.accounts import SYSTEM
from core.audit import AuditHead
from tests.api.pass_helpers import build_world, issued
from whitelist.models import Person

BODIES = [  # (content type, body, expected status)
    ("text/plain", b'{"name": "\xe7\x8e\x8b\xe5\xb8\x88\xe5\x82\x85"}', 415),
    ("application/x-www-form-urlencoded", b"name=%E7%8E%8B&phone=13900139001&reason=x", 415),
    ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
     415),
    ("application/json", b'{"name": "\xe7\x8e\x8b", ', 400),
    ("application/json", b'{"name": "\xff\xfe"}', 400),
]


@pytest.fixture
def world(client, session, areas, cipher, now):
    world = build_world(session, areas, cipher, now)
    yard = create_site(session, data=dict(name="福田接驳场", kind=SiteKind.RELAY_YARD, area_code="440304001",
                                          lat=22.5, lon=114.0, capacity=20), actor=SYSTEM, areas=areas, now=now)
    world.values = {"firm_id": world.firm_id, "person_id": world.driver_id, "item_id": world.driver_id,
                    "vehicle_id": world.vehicle_ids[0], "pass_id": issued(client, world)["id"], "code": "440304",
                    "site_id": yard.id, "yard_id": yard.id, "crossing_id": 1, "handover_id": 1, "account_id": 1,
                    "alert_id": 1}
    return world


def json_write_routes(client, values: dict) -> list[tuple[str, str, bool]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    routes = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue  # path-level "parameters"
            if "application/json" not in operation.get("requestBody", {}).get("content", {}):
                continue
            names = re.findall(r"{([^}]+)}", path)
            missing = [n for n in names if n not in values]
            assert not missing, f"add a sample value for {missing} of {path} to this test"
            # A route that also takes CSV (the fleet application) reads text/plain as CSV.
            csv_too = "text/csv" in operation["requestBody"]["content"]
            routes.append((method.upper(), re.sub(r"{([^}]+)}", lambda m: str(values[m.group(1)]), path), csv_too))
    return routes


def audit_seq(session) -> int:
    session.rollback()
    return session.scalar(select(AuditHead.seq))


def test_every_json_write_route_refuses_a_body_that_is_not_json_and_changes_nothing(client, session, world):
    routes = json_write_routes(client, world.values)
    assert ("PATCH", f"/api/v1/people/{world.driver_id}", False) in routes and len(routes) >= 25, routes
    before = audit_seq(session)
    for method, url, csv_too in routes:
        for content_type, body, status in BODIES:
            if csv_too and content_type == "text/plain":
                continue
            for who in ("firm",) if csv_too else ("admin", "firm"):
                response = client.open(url, method=method, data=body, headers={
                    **world.headers(who), "Content-Type": content_type})
                # The fleet application reads the body itself and has always said 422 for broken JSON.
                allowed = {status, 422} if csv_too and status == 400 else {status}
                assert response.status_code in allowed, (method, url, content_type, who, response.get_data(as_text=True))
                assert response.mimetype == "application/problem+json", (method, url, content_type)
    assert audit_seq(session) == before


def test_a_patch_with_a_form_body_is_refused_where_it_was_an_empty_success(client, session, world):
    url = f"/api/v1/people/{world.driver_id}"
    response = client.patch(url, data={"name": "王师傅"}, headers=world.headers("firm"))
    assert response.status_code == 415
    assert "application/json" in response.get_json()["detail"]
    session.rollback()
    assert session.get(Person, world.driver_id).name == "李师傅"
    # No body at all is a 422 (the body is required); the same change as JSON goes through.
    assert client.patch(url, headers=world.headers("firm")).status_code == 422
    assert client.patch(url, json={"name": "王师傅"}, headers=world.headers("firm")).status_code == 200
    session.rollback()
    assert session.get(Person, world.driver_id).name == "王师傅"
