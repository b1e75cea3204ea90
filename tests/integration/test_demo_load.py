"""`flask demo load` (what `make run` runs): the demo data goes through the API's schemas and services, so
it behaves exactly like data posted through the API (issue 13, item 10)."""
import shlex

from sqlalchemy import func, select

from core import audit
from core.accounts import Role
from checkpoints.models import HealthTest
from passes.models import PassStatus, VehiclePass
from tests.factories import bearer, make_token
from whitelist.models import Firm, FirmStatus, IdType, Person


def _load(app, tmp_path):
    app.instance_path = str(tmp_path)  # instance/tour.env goes to the test's own directory
    app.config["DEMO"] = True  # demo load refuses to run outside demo mode
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return result.output


def _tour_env(tmp_path) -> dict:
    values = {}
    for line in (tmp_path / "tour.env").read_text(encoding="utf-8").splitlines():
        words = shlex.split(line, comments=True)
        if words:
            assert words[0] == "export", line
            name, _, value = words[1].partition("=")
            values[name] = value
    return values


def test_a_negative_test_posted_for_the_demo_hong_kong_driver_matches_that_person(app, client, session, now, tmp_path):
    _load(app, tmp_path)
    hk_driver = session.scalars(select(Person).where(Person.id_type == IdType.HK_ID)).one()
    health = make_token(session, app.extensions["areas"], now, Role.HEALTH)

    response = client.post("/api/v1/health-tests", headers=bearer(health), json={
        "id_type": "hk_id", "id_number": "A123456(3)", "sampled_at": "2026-03-14T08:00:00+08:00",
        "result": "negative", "lab": "Futian lab"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"recorded": 1, "people_suspended": [], "passes_suspended": []}
    posted = session.scalars(select(HealthTest).where(HealthTest.lab == "Futian lab")).one()
    assert posted.person_hash == hk_driver.id_hash

    # The API's own search finds the demo driver by the number as people write it.
    found = client.get("/api/v1/people", query_string={"id_type": "hk_id", "id_number": "A123456(3)"},
                       headers=bearer(make_token(session, app.extensions["areas"], now, Role.ADMIN)))
    assert found.status_code == 200
    assert [p["id"] for p in found.get_json()] == [hk_driver.id]


def test_demo_load_builds_the_tour_world_once_and_refreshes_only_tokens(app, session, tmp_path):
    output = _load(app, tmp_path)
    env = _tour_env(tmp_path)
    for name in ("API", "ADMIN", "CITY", "FUTIAN", "HEALTH", "AUDITOR", "VEG_FIRM", "HKFIRM", "YARD",
                 "VEG_FIRM_ID", "HK_FIRM_ID", "VEG_DRIVER", "VEG_VAN", "HK_DRIVER", "HK_TRACTOR", "YARD_ID",
                 "CROSSING_ID", "HK_PASS", "HK_QR"):
        assert env.get(name), name
        assert f"{name}=" in output  # printed as shell lines too
    assert env["HK_QR"].startswith("GL1:")
    firms = {f.id: f for f in session.scalars(select(Firm))}
    assert firms[int(env["VEG_FIRM_ID"])].status is FirmStatus.APPROVED
    assert firms[int(env["HK_FIRM_ID"])].status is FirmStatus.APPROVED
    route_pass = session.get(VehiclePass, env["HK_PASS"])
    assert route_pass.status is PassStatus.ACTIVE
    assert (route_pass.route_crossing_site_id, route_pass.route_yard_site_id) == (int(env["CROSSING_ID"]),
                                                                                  int(env["YARD_ID"]))
    counts = (session.scalar(select(func.count()).select_from(Person)), len(firms))

    _load(app, tmp_path)
    session.expire_all()
    again = _tour_env(tmp_path)
    assert (session.scalar(select(func.count()).select_from(Person)), session.scalar(
        select(func.count()).select_from(Firm))) == counts
    assert again["HK_PASS"] == env["HK_PASS"] and again["ADMIN"] != env["ADMIN"]
    assert audit.verify_chain(session) is None


def test_demo_load_prints_web_sign_ins_that_work(app, session, now, tmp_path):
    from core.signin import sign_in
    output = _load(app, tmp_path)
    assert "# Web sign-ins (development only; published passwords):" in output
    for username in ("city.regulator", "futian.regulator", "nanshan.regulator", "veg.manager", "crossing.officer",
                     "yard.clerk"):
        assert f"demo-pass-{username}" in output
        account = sign_in(session, username, f"demo-pass-{username}", address="demo-test", now=now,
                          passwords=app.extensions["passwords"], throttle=app.extensions["signin_throttle"])
        assert account.revoked_at is None
    assert sign_in(session, "veg.manager", "demo-pass-veg.manager", address="demo-test", now=now,
                   passwords=app.extensions["passwords"],
                   throttle=app.extensions["signin_throttle"]).firm_id == int(_tour_env(tmp_path)["VEG_FIRM_ID"])
    _load(app, tmp_path)  # a second run keeps the same names and passwords
    assert sign_in(session, "yard.clerk", "demo-pass-yard.clerk", address="demo-test", now=now,
                   passwords=app.extensions["passwords"], throttle=app.extensions["signin_throttle"]).role is Role.YARD


def test_demo_load_refuses_outside_demo_mode(app, session, tmp_path):
    app.instance_path = str(tmp_path)
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 1 and "GREENLANE_DEMO=1" in result.output
    assert session.scalars(select(Firm)).all() == [] and not (tmp_path / "tour.env").exists()
