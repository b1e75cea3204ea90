"""The read-only services behind the portal's pass pages: counts by status, drivers of a page of passes,
a pass's history, and the ends a cross-border route may name."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from checkpoints.models import Site, SiteKind
from checkpoints.sites import create_site, list_route_ends
from core.accounts import SYSTEM, Actor, Role
from core.errors import Forbidden
from passes import services
from passes.models import PassStatus
from tests.factories import USCC, make_firm, make_person, make_vehicle, pass_data, record_negative_test

CITY = Actor(90, "city regulator", Role.REGULATOR, area_code="440300")


@pytest.fixture
def fleet(session, areas, cipher, now):
    firm, _ = make_firm(session, areas, now)
    driver = make_person(session, areas, cipher, now, firm_id=firm.id)
    record_negative_test(session, cipher, now)
    vans = [make_vehicle(session, areas, now, firm_id=firm.id, plate=p) for p in ("粤B12345", "粤B23456", "粤B34567")]
    return driver, vans, Actor(92, "firm", Role.FIRM, firm_id=firm.id)


def _apply(session, areas, now, fleet, van, **overrides):
    driver, vans, actor = fleet
    return services.apply_for_pass(session, data=pass_data(vehicle_id=vans[van].id, driver_ids=[driver.id], now=now,
                                                           **overrides), actor=actor, areas=areas, max_days=7, now=now)


def test_counts_by_status_report_expired_apart_and_only_the_firms_own(session, areas, now, fleet, app):
    ring = app.extensions["keyring"]
    short = _apply(session, areas, now, fleet, 0, days=1)
    services.approve_pass(session, short.id, actor=CITY, areas=areas, ring=ring, now=now)
    long = _apply(session, areas, now, fleet, 1, days=5)
    services.approve_pass(session, long.id, actor=CITY, areas=areas, ring=ring, now=now)
    _apply(session, areas, now, fleet, 2)
    other, _ = make_firm(session, areas, now, uscc=USCC[1], name="另一家")
    later = now + timedelta(days=2)
    counts = services.count_passes_by_status(session, actor=fleet[2], now=later)
    assert counts == {PassStatus.PENDING: 1, PassStatus.ACTIVE: 1, PassStatus.EXPIRED: 1, PassStatus.REJECTED: 0,
                      PassStatus.SUSPENDED: 0, PassStatus.REVOKED: 0}
    assert sum(services.count_passes_by_status(session, actor=Actor(93, "other", Role.FIRM, firm_id=other.id),
                                               now=later).values()) == 0
    with pytest.raises(Forbidden):
        services.count_passes_by_status(session, actor=CITY, now=later)


def test_drivers_of_and_the_history_of_a_pass(session, areas, now, fleet):
    vpass = _apply(session, areas, now, fleet, 0)
    assert {pid: p.name for pid, p in services.drivers_of(session, [vpass]).items()} == {fleet[0].id: "李师傅"}
    assert services.drivers_of(session, []) == {}
    services.change_pass_status(session, vpass.id, "reject", actor=CITY, areas=areas, reason="照片不清楚", now=now)
    history = services.pass_history(session, vpass.id, actor=fleet[2], areas=areas, now=now)
    assert [(e.action, (e.changes or {}).get("reason")) for e in history] == [("pass.applied", None),
                                                                              ("pass.rejected", "照片不清楚")]
    with pytest.raises(Forbidden):
        services.pass_history(session, vpass.id, actor=Actor(93, "other", Role.FIRM, firm_id=999), areas=areas, now=now)


def test_route_ends_are_the_active_crossings_and_yards(session, areas, now):
    yard = create_site(session, data=dict(name="福田接驳场", kind=SiteKind.RELAY_YARD, area_code="440304001",
                                          lat=22.5, lon=114.0, capacity=40), actor=SYSTEM, areas=areas, now=now)
    create_site(session, data=dict(name="检查站", kind=SiteKind.CHECKPOINT, area_code="440304001", lat=22.5,
                                   lon=114.0, capacity=None), actor=SYSTEM, areas=areas, now=now)
    crossings, yards = list_route_ends(session)
    shipped = session.scalars(select(Site).where(Site.kind == SiteKind.CROSSING)).all()
    assert {s.id for s in crossings} == {s.id for s in shipped if s.active} and crossings
    assert [s.id for s in yards] == [yard.id]
