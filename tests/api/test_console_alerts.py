"""The alerts inbox (/console/alerts): open and acknowledged, by kind and area, in the reader's area only;
acknowledging is audited, regulators only in their area; auditors read but cannot acknowledge."""
import pytest
from sqlalchemy import select

from core.accounts import SYSTEM
from core.audit import AuditEntry
from core.db import transaction
from checkpoints.alerts import raise_alert
from checkpoints.models import Alert, AlertKind
from tests.api.checkpoint_helpers import DRIVER_IDS, build_post, health_test
from tests.api.console_reading_helpers import console_client, ids_on, token_of
from tests.api.helpers import API
from tests.api.web_helpers import html_of

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def alerts(session, now):
    """A clone in a Futian street, a seal mismatch (with hostile seals) in Futian, an overdue return in Nanshan."""
    with transaction(session):
        clone = raise_alert(session, AlertKind.CLONE_SUSPECTED, area_code="440304001", subject_type="pass",
                            subject_id="7K3M9QXA", details={"scan_id": 1, "earlier_scan_id": 2, "sites": [1, 2]},
                            actor=SYSTEM, now=now)
        seal = raise_alert(session, AlertKind.SEAL_MISMATCH, area_code="440304", subject_type="handover",
                           subject_id="12", details={"expected": ["HK1"], "seen": [SCRIPT]}, actor=SYSTEM, now=now)
        overdue = raise_alert(session, AlertKind.RETURN_OVERDUE, area_code="440305", subject_type="handover",
                              subject_id="13", details={"driver_id": 4, "due": "2026-03-14T07:30:00+00:00"},
                              actor=SYSTEM, now=now)
    return {"clone": str(clone.id), "seal": str(seal.id), "overdue": str(overdue.id)}


def acknowledge(client, alert_id: str):
    return client.post(f"/console/alerts/{alert_id}/acknowledge",
                       data={"csrf_token": token_of(client, "/console/alerts")})


def acknowledged(session, alert_id: str) -> bool:
    session.expire_all()
    return session.get(Alert, int(alert_id)).acknowledged_at is not None


def test_a_regulator_sees_the_open_alerts_of_its_area_with_their_links(app, session, areas, now, alerts):
    html = html_of(console_client(app, session, areas, now, "futian").get("/console/alerts"))
    assert ids_on(html, "alert") == {alerts["clone"], alerts["seal"]}
    assert "/console/trace?pass_id=7K3M9QXA" in html and "/console/audit/pass/7K3M9QXA" in html
    assert "/console/audit/handover/12" in html
    assert SCRIPT not in html and "&lt;script&gt;" in html
    nanshan = html_of(console_client(app, session, areas, now, "nanshan").get("/console/alerts"))
    assert ids_on(nanshan, "alert") == {alerts["overdue"]} and "2026-03-14 15:30" in nanshan  # Beijing time
    auditor = html_of(console_client(app, session, areas, now, "auditor").get("/console/alerts"))
    assert ids_on(auditor, "alert") == set(alerts.values())


def test_filters_by_kind_and_area(app, session, areas, now, alerts):
    client = console_client(app, session, areas, now, "city")
    by_kind = html_of(client.get("/console/alerts", query_string={"kind": "seal_mismatch"}))
    assert ids_on(by_kind, "alert") == {alerts["seal"]}
    by_area = html_of(client.get("/console/alerts", query_string={"area": "440304001"}))
    assert ids_on(by_area, "alert") == {alerts["clone"]}
    by_district = html_of(client.get("/console/alerts", query_string={"area": "440304"}))
    assert ids_on(by_district, "alert") == {alerts["clone"], alerts["seal"]}


def test_acknowledging_moves_the_alert_to_the_acknowledged_tab_and_is_audited(app, session, areas, now, alerts):
    client = console_client(app, session, areas, now, "futian")
    response = acknowledge(client, alerts["clone"])
    assert response.status_code == 303 and response.headers["Location"].startswith("/console/alerts")
    assert acknowledged(session, alerts["clone"])
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.acknowledged")).all()
    assert [(e.object_type, e.object_id, e.actor_name) for e in entries] == [("alert", alerts["clone"], "监管 futian")]
    assert ids_on(html_of(client.get("/console/alerts")), "alert") == {alerts["seal"]}
    done = html_of(client.get("/console/alerts", query_string={"state": "acknowledged"}))
    assert ids_on(done, "alert") == {alerts["clone"]} and "监管 futian" in done
    again = acknowledge(client, alerts["clone"])
    assert again.status_code == 409 and again.mimetype == "text/html"


def test_a_regulator_cannot_acknowledge_outside_its_area(app, session, areas, now, alerts):
    client = console_client(app, session, areas, now, "futian")
    response = acknowledge(client, alerts["overdue"])
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert not acknowledged(session, alerts["overdue"])


def test_an_auditor_reads_but_cannot_acknowledge(app, session, areas, now, alerts):
    client = console_client(app, session, areas, now, "auditor")
    html = html_of(client.get("/console/alerts"))
    assert 'id="ack-' not in html
    response = acknowledge(client, alerts["clone"])
    assert response.status_code == 403 and not acknowledged(session, alerts["clone"])
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "alert.acknowledged")).all() == []


def test_acknowledging_without_the_csrf_token_does_nothing(app, session, areas, now, alerts):
    client = console_client(app, session, areas, now, "futian")
    response = client.post(f"/console/alerts/{alerts['clone']}/acknowledge", data={})
    assert response.status_code == 400 and not acknowledged(session, alerts["clone"])


@pytest.mark.parametrize("query", [{"kind": "bogus"}, {"page": "0"}, {"page": "100001"}, {"area": "999999"},
                                   {"state": "closed"}, {"area": "440305"}, {"page": "3"}])
def test_bad_filters_are_an_error_page(app, session, areas, now, alerts, query):
    response = console_client(app, session, areas, now, "futian").get("/console/alerts", query_string=query)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert ids_on(html_of(response), "alert") == set()


def test_a_positive_test_raises_an_alert_in_the_firms_area_with_the_suspended_passes(app, client, session, areas,
                                                                                     cipher, now):
    post = build_post(session, areas, cipher, app.extensions["keyring"], now)
    vpass = post.issue(0, drivers=(0,))
    response = client.post(f"{API}/health-tests", json=health_test(DRIVER_IDS[0], result="positive"),
                           headers=post.headers("health"))
    assert response.status_code == 201 and response.get_json()["passes_suspended"] == [vpass.id]
    alert = session.scalars(select(Alert).where(Alert.kind == AlertKind.POSITIVE_TEST)).one()
    assert (alert.area_code, alert.subject_type, alert.details["passes_suspended"]) == ("440304", "person", [vpass.id])
    html = html_of(console_client(app, session, areas, now, "futian").get("/console/alerts"))
    assert ids_on(html, "alert") == {str(alert.id)}
    assert f"/console/trace?pass_id={vpass.id}" in html and f"/console/audit/person/{alert.subject_id}" in html
    assert DRIVER_IDS[0] not in html
    nanshan = html_of(console_client(app, session, areas, now, "nanshan").get("/console/alerts"))
    assert ids_on(nanshan, "alert") == set()
