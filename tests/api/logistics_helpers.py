"""Shared helpers for the relay-yard tests: a Hong Kong freight firm and a mainland firm, a relay yard on the
Shenzhen Bay route, accounts of every kind, and approved passes, all built through the real services at a
given `now` (the fixed test clock for service tests, the real clock for API tests)."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from core.accounts import SYSTEM, Actor, Role, create_account
from checkpoints.models import Site, SiteKind
from checkpoints.sites import create_site
from logistics import services as logistics
from logistics.handovers import EventType
from checkpoints import services as checkpoints
from passes import services as passes
from tests.factories import (RESIDENT_IDS, USCC, bearer, make_firm, make_person, make_vehicle, pass_data,
                             record_negative_test)
from whitelist.models import Category, IdType, PersonKind, VehicleKind

HK_ID = "A1234563"            # A123456(3), check digit computed by hand: -(36*9 + 10*8 + 77) mod 11 = 3
HK_ID_UNTESTED = "B1234566"   # B123456(6): -(36*9 + 11*8 + 77) mod 11 = 6
MAINLAND_ID = RESIDENT_IDS[0]
CONTAINER = "CSQU3054383"     # the ISO 6346 worked example
BAD_CONTAINER = "CSQU3054384"
SEALS = ["HK2026001", "HK2026002"]
YARD_AREA, OTHER_STREET = "440304001", "440304002"
CROSSING_AREA = "440305"      # Shenzhen Bay Port (reference crossing SZB, district level)
SCOPE = (YARD_AREA, OTHER_STREET, CROSSING_AREA)
CITY = Actor(None, "city regulator", Role.REGULATOR, area_code="440300")
RETURN = timedelta(minutes=90)


def clock() -> datetime:
    """Whole seconds of the real clock (the API compares with utcnow())."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Relay:
    session: object
    areas: object
    ring: object
    ids: dict[str, int]
    actors: dict[str, Actor]
    tokens: dict[str, str]
    qr: dict[str, str] = field(default_factory=dict)
    pass_ids: dict[str, str] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return bearer(self.tokens[who])

    # ---- services -------------------------------------------------------------------------------

    def book(self, now: datetime, **overrides):
        return logistics.book_handover(self.session, data=booking(self, **overrides), actor=self.actors["hk_firm"],
                                       now=now)

    def name_outbound(self, handover_id: int, now: datetime):
        return logistics.name_outbound(self.session, handover_id, data={"driver_id": self.ids["mainland_driver"],
                                                                        "vehicle_id": self.ids["truck"]},
                                       actor=self.actors["mainland_firm"], now=now)

    def event(self, handover_id: int, kind: str, at: datetime, *, who: str = "yard", now: datetime | None = None,
              **data):
        data = {"type": EventType(kind), "at": at, **event_defaults(self, kind), **data}
        return logistics.record_event(self.session, handover_id, data=data, actor=self.actors[who], areas=self.areas,
                                      cache=self.cache, max_return=RETURN, now=now or at)

    def walk(self, handover_id: int, *, arrive: datetime, until: str = "completed", dwell: timedelta | None = None,
             scan_out: bool = False):
        """Events one minute apart from `arrive` (collection at arrive + dwell); optionally the inbound
        vehicle scans out at the crossing a minute after it left the yard."""
        dwell = dwell or timedelta(minutes=10)
        times = journey_times(arrive, dwell)
        handover = None
        for kind, at in times.items():
            if kind == "collected":
                self.name_outbound(handover_id, at - timedelta(seconds=30))
            handover = self.event(handover_id, kind, at)
            if kind == "inbound_departed" and scan_out:
                self.scan_out(at + timedelta(minutes=1))
            if kind == until:
                break
        return handover

    def scan_out(self, at: datetime, qr_of: str = "hk"):
        return checkpoints.record_scan(self.session, data={"qr": self.qr[qr_of], "scanned_at": at},
                                       actor=self.actors["officer"], areas=self.areas, cache=self.cache, now=at)

    def issue(self, now: datetime, *, firm: str, vehicle: str, drivers: list[str], route: bool = False):
        data = pass_data(vehicle_id=self.ids[vehicle], driver_ids=[self.ids[d] for d in drivers], now=now,
                         scope=SCOPE, category=Category.VEGETABLES)
        if route:
            data["route"] = {"crossing_site_id": self.ids["crossing"], "yard_site_id": self.ids["yard"]}
        vpass = passes.apply_for_pass(self.session, data=data, actor=self.actors[firm], areas=self.areas,
                                      max_days=7, now=now)
        return passes.approve_pass(self.session, vpass.id, actor=CITY, areas=self.areas, ring=self.ring, now=now)


def journey_times(arrive: datetime, dwell: timedelta) -> dict[str, datetime]:
    minute = timedelta(minutes=1)
    return {"arrived": arrive, "seals_checked": arrive + minute, "disinfected": arrive + 2 * minute,
            "dropped": arrive + 3 * minute, "inbound_departed": arrive + 4 * minute, "collected": arrive + dwell,
            "outbound_departed": arrive + dwell + minute, "completed": arrive + dwell + 2 * minute}


def event_defaults(relay: Relay, kind: str) -> dict:
    return {"arrived": {"qr": relay.qr.get("hk")}, "seals_checked": {"seals_seen": list(SEALS)},
            "collected": {"qr": relay.qr.get("mainland")}}.get(kind, {})


def booking(relay: Relay, *, container_no=CONTAINER, seals=None, driver="hk_driver", vehicle="tractor",
            yard="yard", crossing="crossing", outbound=False, collector="mainland_firm") -> dict:
    data = {"yard_site_id": relay.ids[yard], "crossing_site_id": relay.ids[crossing],
            "collecting_firm_id": relay.ids[collector],
            "inbound": {"driver_id": relay.ids[driver], "vehicle_id": relay.ids[vehicle], "container_no": container_no,
                        "seals": list(seals or SEALS), "sealed_by": "香港海关 HK Customs"},
            "cargo": {"category": Category.VEGETABLES, "description": "新鲜蔬菜 fresh vegetables", "packages": 120,
                      "gross_kg": 8500}}
    if outbound:
        data["outbound"] = {"driver_id": relay.ids["mainland_driver"], "vehicle_id": relay.ids["truck"]}
    return data


def booking_json(relay: Relay, **overrides) -> dict:
    data = booking(relay, **overrides)
    data["cargo"] = {**data["cargo"], "category": data["cargo"]["category"].value}
    return data


def _account(session, areas, now, role: Role, name: str, **binding) -> tuple[Actor, str]:
    account, token = create_account(session, name=name, role=role, areas=areas, actor=SYSTEM, now=now, **binding)
    return Actor.of(account), token


def build_relay(session, areas, cipher, ring, now, *, hk_tested: bool = True) -> Relay:
    """Both firms, their drivers and vehicles, the yard (capacity 3) on the SZB route, a second yard, a
    checkpoint, accounts, fresh negative tests and one approved pass per side (valid from now - 1 h)."""
    hk_firm, hk_token = make_firm(session, areas, now, name="港深跨境物流有限公司 HK-SZ Cross-border Logistics",
                                  uscc=USCC[1], category=Category.CROSS_BORDER_FREIGHT, area_code="440305")
    sz_firm, sz_token = make_firm(session, areas, now)
    third_firm, third_token = make_firm(session, areas, now, name="第三方物流 Third-party", uscc=USCC[2])
    hk_driver = make_person(session, areas, cipher, now, firm_id=hk_firm.id, kind=PersonKind.CROSS_BORDER_DRIVER,
                            name="陳大文", id_type=IdType.HK_ID, id_number=HK_ID, phone="+852 91234567")
    untested = make_person(session, areas, cipher, now, firm_id=hk_firm.id, kind=PersonKind.CROSS_BORDER_DRIVER,
                           name="黃小明", id_type=IdType.HK_ID, id_number=HK_ID_UNTESTED, phone="+852 92345678")
    local_hk = make_person(session, areas, cipher, now, firm_id=hk_firm.id, kind=PersonKind.DRIVER, name="本地司机",
                           id_number=RESIDENT_IDS[2])
    sz_driver = make_person(session, areas, cipher, now, firm_id=sz_firm.id, name="李师傅", id_number=MAINLAND_ID)
    tractor = make_vehicle(session, areas, now, firm_id=hk_firm.id, plate="粤Z1234港", hk_plate="FV1234",
                           kind=VehicleKind.TRACTOR)
    spare = make_vehicle(session, areas, now, firm_id=hk_firm.id, plate="粤Z5678港", hk_plate="FV5678",
                         kind=VehicleKind.TRACTOR)
    truck = make_vehicle(session, areas, now, firm_id=sz_firm.id, plate="粤B12345", kind=VehicleKind.TRUCK)
    crossing = session.scalars(select(Site).where(Site.ref_code == "SZB")).one()
    assert crossing.kind is SiteKind.CROSSING and crossing.active and crossing.area_code == CROSSING_AREA
    yard = create_site(session, data=dict(name="福田接驳场 Futian relay yard", kind=SiteKind.RELAY_YARD,
                                          area_code=YARD_AREA, lat=22.53, lon=114.05, capacity=3),
                       actor=SYSTEM, areas=areas, now=now)
    other_yard = create_site(session, data=dict(name="园岭接驳场 Yuanling relay yard", kind=SiteKind.RELAY_YARD,
                                                area_code=OTHER_STREET, lat=22.52, lon=114.03, capacity=5),
                             actor=SYSTEM, areas=areas, now=now)
    checkpoint = create_site(session, data=dict(name="南园检查站 Nanyuan checkpoint", kind=SiteKind.CHECKPOINT,
                                                area_code=YARD_AREA, lat=22.543, lon=114.085, capacity=None),
                             actor=SYSTEM, areas=areas, now=now)
    ids = dict(hk_firm=hk_firm.id, mainland_firm=sz_firm.id, third_firm=third_firm.id, hk_driver=hk_driver.id,
               untested_driver=untested.id, local_driver=local_hk.id, mainland_driver=sz_driver.id,
               tractor=tractor.id, spare_tractor=spare.id, truck=truck.id, crossing=crossing.id, yard=yard.id,
               other_yard=other_yard.id, checkpoint=checkpoint.id)
    actors = {"hk_firm": Actor(None, "HK firm", Role.FIRM, firm_id=hk_firm.id),
              "mainland_firm": Actor(None, "mainland firm", Role.FIRM, firm_id=sz_firm.id),
              "third_firm": Actor(None, "third firm", Role.FIRM, firm_id=third_firm.id)}
    tokens = {"hk_firm": hk_token, "mainland_firm": sz_token, "third_firm": third_token}
    for who, role, binding in [
            ("yard", Role.YARD, {"site_id": yard.id}), ("other_yard", Role.YARD, {"site_id": other_yard.id}),
            ("officer", Role.OFFICER, {"site_id": crossing.id}),
            ("futian", Role.REGULATOR, {"area_code": "440304"}), ("nanshan", Role.REGULATOR, {"area_code": "440305"}),
            ("city", Role.REGULATOR, {"area_code": "440300"}), ("auditor", Role.AUDITOR, {}),
            ("admin", Role.ADMIN, {})]:
        actors[who], tokens[who] = _account(session, areas, now, role, f"{who} account", **binding)
    relay = Relay(session, areas, ring, ids, actors, tokens)
    if hk_tested:
        record_negative_test(session, cipher, now, id_type=IdType.HK_ID, id_number=HK_ID)
    record_negative_test(session, cipher, now, id_type=IdType.CN_RESIDENT_ID, id_number=MAINLAND_ID)
    for side, firm, vehicle, drivers, route in [("hk", "hk_firm", "tractor", ["hk_driver"], True),
                                                ("mainland", "mainland_firm", "truck", ["mainland_driver"], False),
                                                ("spare", "hk_firm", "spare_tractor", ["hk_driver"], True)]:
        vpass = relay.issue(now, firm=firm, vehicle=vehicle, drivers=drivers, route=route)
        relay.qr[side], relay.pass_ids[side] = vpass.qr, vpass.id
    return relay
