"""Bench set-up: a migrated database and the people, vehicles, sites and passes the scenarios need."""
import base64
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import psycopg
from flask_migrate import upgrade

from core.accounts import SYSTEM, Actor, Role, create_account
from factory import create_app
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from passes import services as pass_services
from checkpoints.health import record_tests
from checkpoints.models import TestResult
from whitelist import services as wl
from whitelist.models import Category, IdType, PersonKind, VehicleKind

KEYS = {"DATA_KEY": base64.b64encode(bytes(range(32))).decode(),
        "INDEX_KEY": base64.b64encode(bytes(range(32, 64))).decode(), "KEY_PASSPHRASE": "bench passphrase"}
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
CITY = Actor(None, "bench city regulator", Role.REGULATOR, area_code="440300")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(i: int) -> str:
    """A distinct, valid synthetic resident ID (Futian, born 1970-2009, sequence from i)."""
    born = datetime(1970, 1, 1) + timedelta(days=i // 1000 % 14000)
    body = f"440304{born:%Y%m%d}{i % 1000:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11]


def sqlite_url(workdir, name: str) -> str:
    return f"sqlite:///{workdir / (name + '.db')}"


def postgres_url(name: str) -> str | None:
    """A fresh database on the local PostgreSQL, or None when there is none."""
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error:
        return None
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def migrated_app(url: str):
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", **KEYS})
    with app.app_context():
        upgrade()
    return app


@dataclass
class World:
    firm_id: int
    driver_id: int
    vehicle_ids: list[int]
    site_id: int
    officer_token: str
    qr: str


def build_world(app, *, now: datetime, vehicles: int = 1, cross_border: bool = False) -> World:
    """An approved firm with a tested driver, `vehicles` vehicles, a checkpoint with an officer, and one
    active pass for the first vehicle, good at the checkpoint."""
    areas, cipher = app.extensions["areas"], app.extensions["pii"]
    with app.extensions["db"].sessionmaker() as s:
        firm, _ = wl.register_firm(s, data=dict(name="Bench freight", uscc="91440300MA5G00000R",
                                                category=Category.CROSS_BORDER_FREIGHT, area_code="440304",
                                                address="bench", contact_name="bench",
                                                contact_phone="+86 13800138000"), actor=SYSTEM, areas=areas,
                                   cipher=cipher, now=now)
        kind, id_type, number = ((PersonKind.CROSS_BORDER_DRIVER, IdType.HK_ID, "A1234563") if cross_border
                                 else (PersonKind.DRIVER, IdType.CN_RESIDENT_ID, resident_id(1)))
        driver = wl.register_person(s, data=dict(firm_id=firm.id, kind=kind, name="bench driver", id_type=id_type,
                                                 id_number=number, phone="+86 13900139000"),
                                    actor=SYSTEM, areas=areas, cipher=cipher, now=now)
        record_tests(s, [dict(id_type=id_type, id_number=number, sampled_at=now - timedelta(hours=1),
                              result=TestResult.NEGATIVE, lab="bench")], actor=SYSTEM, cipher=cipher, now=now)
        vehicle_ids = [wl.register_vehicle(s, data=dict(firm_id=firm.id, plate=f"粤B{10000 + i}", hk_plate=None,
                                                        kind=VehicleKind.TRUCK), actor=SYSTEM, areas=areas,
                                           now=now).id for i in range(vehicles)]
        site = create_site(s, data=dict(name="bench checkpoint", kind=SiteKind.CHECKPOINT, area_code="440304001",
                                        lat=22.54, lon=114.05, capacity=None), actor=SYSTEM, areas=areas, now=now)
        _, officer = create_account(s, name="bench officer", role=Role.OFFICER, site_id=site.id, areas=areas,
                                    actor=SYSTEM, now=now)
        vpass = pass_services.apply_for_pass(
            s, data=dict(vehicle_id=vehicle_ids[0], driver_ids=[driver.id], category=Category.CROSS_BORDER_FREIGHT,
                         scope=["440304001", "440304002", "440305"], valid_from=now - timedelta(hours=1),
                         valid_until=now + timedelta(days=6), purpose="bench"),
            actor=Actor(None, "bench firm", Role.FIRM, firm_id=firm.id), areas=areas, max_days=7, now=now)
        vpass = pass_services.approve_pass(s, vpass.id, actor=CITY, areas=areas, ring=app.extensions["keyring"],
                                           now=now)
        return World(firm.id, driver.id, vehicle_ids, site.id, officer, vpass.qr)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
