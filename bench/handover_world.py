"""Bench: record N relay-yard handovers with all their events, through the real services."""
import time
from datetime import timedelta

from sqlalchemy import select

from bench.sqlcount import statements
from bench.world import CITY, resident_id, utcnow
from core.accounts import SYSTEM, Actor, Role
from checkpoints.models import Site, SiteKind
from checkpoints.sites import create_site
from logistics import services as yard
from logistics.handovers import EventType
from passes import services as pass_services
from checkpoints.health import record_tests
from checkpoints.models import TestResult
from whitelist import services as wl
from whitelist.models import Category, IdType, PersonKind, VehicleKind

COUNTED = 10  # journeys recorded after the timed ones, with a statement counter
STEPS = [EventType.ARRIVED, EventType.SEALS_CHECKED, EventType.DISINFECTED, EventType.DROPPED,
         EventType.INBOUND_DEPARTED, EventType.COLLECTED, EventType.OUTBOUND_DEPARTED, EventType.COMPLETED]


def _firm_with_driver(s, app, now, *, uscc, kind, id_type, number, plate, hk_plate, vehicle_kind):
    areas, cipher = app.extensions["areas"], app.extensions["pii"]
    firm, _ = wl.register_firm(s, data=dict(name=f"bench {uscc}", uscc=uscc, category=Category.CROSS_BORDER_FREIGHT,
                                            area_code="440304", address="bench", contact_name="bench",
                                            contact_phone="+86 13800138000"), actor=SYSTEM, areas=areas,
                               cipher=cipher, now=now)
    driver = wl.register_person(s, data=dict(firm_id=firm.id, kind=kind, name="driver", id_type=id_type,
                                             id_number=number, phone="+86 13900139000"),
                                actor=SYSTEM, areas=areas, cipher=cipher, now=now)
    record_tests(s, [dict(id_type=id_type, id_number=number, sampled_at=now - timedelta(hours=2),
                          result=TestResult.NEGATIVE, lab="bench")], actor=SYSTEM, cipher=cipher, now=now)
    vehicle = wl.register_vehicle(s, data=dict(firm_id=firm.id, plate=plate, hk_plate=hk_plate, kind=vehicle_kind),
                                  actor=SYSTEM, areas=areas, now=now)
    actor = Actor(None, "bench firm", Role.FIRM, firm_id=firm.id)
    vpass = pass_services.apply_for_pass(s, data=dict(
        vehicle_id=vehicle.id, driver_ids=[driver.id], category=Category.CROSS_BORDER_FREIGHT,
        scope=["440304", "440305"], valid_from=now - timedelta(hours=2), valid_until=now + timedelta(days=6),
        purpose="bench"), actor=actor, areas=areas, max_days=7, now=now)
    vpass = pass_services.approve_pass(s, vpass.id, actor=CITY, areas=areas, ring=app.extensions["keyring"], now=now)
    return actor, driver, vehicle, vpass


def record_handovers(app, n: int) -> dict:
    now = utcnow()
    areas, cache = app.extensions["areas"], app.extensions["signed_cache"]
    with app.extensions["db"].sessionmaker() as s:
        hk_actor, hk_driver, tractor, hk_pass = _firm_with_driver(
            s, app, now, uscc="91440300MA5G00000R", kind=PersonKind.CROSS_BORDER_DRIVER, id_type=IdType.HK_ID,
            number="A1234563", plate="粤Z1234港", hk_plate="FV1234", vehicle_kind=VehicleKind.TRACTOR)
        sz_actor, sz_driver, truck, sz_pass = _firm_with_driver(
            s, app, now, uscc="92440300L00000003P", kind=PersonKind.DRIVER, id_type=IdType.CN_RESIDENT_ID,
            number=resident_id(7), plate="粤B54321", hk_plate=None, vehicle_kind=VehicleKind.TRUCK)
        site = create_site(s, data=dict(name="bench yard", kind=SiteKind.RELAY_YARD, area_code="440304001",
                                         lat=22.53, lon=114.05, capacity=100000), actor=SYSTEM, areas=areas, now=now)
        crossing = s.scalars(select(Site).where(Site.ref_code == "SZB")).one()
        yard_actor = Actor(None, "bench yard", Role.YARD, site_id=site.id)
        data = dict(yard_site_id=site.id, crossing_site_id=crossing.id, collecting_firm_id=sz_actor.firm_id,
                    inbound=dict(driver_id=hk_driver.id, vehicle_id=tractor.id, container_no="CSQU3054383",
                                 seals=["SEAL001", "SEAL002"], sealed_by="HK shipper"),
                    cargo=dict(category=Category.VEGETABLES, description="vegetables", packages=100, gross_kg=8000),
                    outbound=dict(driver_id=sz_driver.id, vehicle_id=truck.id))
        qr = {EventType.ARRIVED: hk_pass.qr, EventType.COLLECTED: sz_pass.qr}
        start = now - timedelta(minutes=100)

        def journey(i: int) -> None:
            """One handover booked and taken through its 8 steps: 9 service calls, 9 transactions."""
            base = start + timedelta(milliseconds=500 * i)
            handover = yard.book_handover(s, data=data, actor=hk_actor, now=base)
            for step_no, step in enumerate(STEPS, start=1):
                # As the station sends it: every step carries the id its device chose (a UUID), which the
                # server looks up (a step uploaded twice is recorded once) and stores with the event.
                event = {"type": step, "at": base + timedelta(milliseconds=40 * step_no),
                         "client_event_id": f"{i:08d}-0000-4000-8000-{step_no:012d}"}
                if step in qr:
                    event["qr"] = qr[step]
                if step is EventType.SEALS_CHECKED:
                    event["seals_seen"] = ["SEAL002", "SEAL001"]
                yard.record_event(s, handover.id, data=event, actor=yard_actor, areas=areas, cache=cache,
                                  max_return=timedelta(minutes=90), now=now)
            s.expunge_all()

        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(n):
            journey(i)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        # Counted after the timed loop, on a few more journeys (a listener in the loop would slow it down).
        with statements(app.extensions["db"].engine) as seen:
            for i in range(n, n + COUNTED):
                journey(i)
    events = n * (1 + len(STEPS))
    return {"handovers": n, "events": events, "seconds_total": round(seconds, 1),
            "handovers_per_s": round(n / seconds, 1), "events_per_s": round(events / seconds),
            "cpu_ms_per_event": round(1000 * cpu_seconds / events, 3),
            "statements_per_handover": round(len(seen) / COUNTED, 1), "database": "sqlite"}
