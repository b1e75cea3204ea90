"""Demo data for `make run`: an account for every role, a Futian vegetable firm, a Hong Kong freight firm,
their drivers and vehicles, a relay yard with a staff account, and a route-bound pass for the Hong Kong
tractor. Everything is loaded through the API's own input schemas and services, never around them.

Idempotent: data is created once. Every run issues fresh tokens (tokens are stored hashed, so the only way
to show them again is to issue new ones), records a fresh negative test for each demo driver and renews
the route-bound pass when it ends within a day, so the README tour works on any day. The ids and tokens
the tour needs are printed as shell lines and written to instance/tour.env."""
import os
import shlex
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from marshmallow import Schema
from sqlalchemy import select

from core.accounts import SYSTEM, Account, Actor, Role, create_account, hash_token, rotate_token
from core.clock import utcnow
from checkpoints.schemas import SiteIn
from checkpoints.models import Site
from checkpoints.sites import create_site
from core.signin import give_sign_in
from passes import services as pass_services
from checkpoints.schemas import HealthTestIn
from checkpoints.health import record_tests
from passes.models import PassStatus, VehiclePass
from passes.schemas import PassIn
from whitelist import services
from whitelist.models import Firm, Person, Vehicle
from whitelist.schemas import FirmIn, PersonIn, VehicleIn

DEMO_ACCOUNTS = {  # env name: (account name, role, area)
    "ADMIN": ("Demo admin", Role.ADMIN, None),
    "CITY": ("Shenzhen city regulator", Role.REGULATOR, "440300"),
    "FUTIAN": ("Futian district regulator", Role.REGULATOR, "440304"),
    "NANSHAN": ("Nanshan district regulator", Role.REGULATOR, "440305"),
    "AUDITOR": ("Demo auditor", Role.AUDITOR, None),
    "HEALTH": ("Demo health lab", Role.HEALTH, None),
}
# What a client would POST: the same JSON goes through the same schemas (normalised ids, plates, phones).
VEG_FIRM = {"name": "深圳市示范蔬菜配送有限公司 (demo)", "uscc": "91440300MA5G00000R", "category": "vegetables",
            "area_code": "440304001", "address": "福田区南园街道示范路 1 号", "contact_name": "陈经理",
            "contact_phone": "13800138000"}
VEG_DRIVER = {"kind": "driver", "name": "李师傅", "id_type": "cn_resident_id", "id_number": "440304200001010009",
              "phone": "13900139000"}
VEG_VAN = {"plate": "粤BD12345", "kind": "van"}
HK_FIRM = {"name": "港深跨境物流有限公司 HK-SZ Cross-border Logistics (demo)", "uscc": "91110000600037341L",
           "category": "cross_border_freight", "area_code": "440305", "address": "南山区蛇口港湾大道 2 号",
           "contact_name": "陳先生", "contact_phone": "+852 91234567"}
HK_DRIVER = {"kind": "cross_border_driver", "name": "陳大文", "id_type": "hk_id", "id_number": "A123456(3)",
             "phone": "+852 91234567"}
HK_TRACTOR = {"plate": "粤Z1234港", "hk_plate": "FV1234", "kind": "tractor"}
YARD = {"name": "福田示范接驳场 Futian demo relay yard", "kind": "relay_yard", "area_code": "440304001",
        "lat": 22.53, "lon": 114.05, "capacity": 5}
YARD_ACCOUNT = "Demo relay yard staff"
CROSSING_REF = "SZB"  # Shenzhen Bay Port, a reference crossing shipped with the migrations
ROUTE_SCOPE = ["440304001", "440305"]  # the yard's street and the crossing's district
RENEW_WITHIN = timedelta(days=1)
OFFICER_ACCOUNT = "Demo checkpoint officer"
# Web sign-ins (issue 9): user name -> tour value holding the account's token. Passwords are published
# ("demo-pass-" + user name) and reset on every run: demo mode only.
DEMO_SIGN_INS = {"city.regulator": "CITY", "futian.regulator": "FUTIAN", "nanshan.regulator": "NANSHAN",
                 "veg.manager": "VEG_FIRM_TOKEN", "crossing.officer": "OFFICER", "yard.clerk": "YARD"}

demo = AppGroup("demo", help="Demo data for a development instance.")


def _load(schema: Schema, data: dict) -> dict:
    return schema.load(data)  # a ValidationError here is a bug in the demo data: let it show


@demo.command("load")
@click.option("--env-file", type=click.Path(dir_okay=False),
              help="where to write the tour's shell variables (default: instance/tour.env)")
def load(env_file):
    """Create the demo data if missing, refresh what expires, and print the tour's ids and fresh tokens."""
    if not current_app.config["DEMO"]:
        raise click.ClickException("demo data is for development instances only: set GREENLANE_DEMO=1")
    areas, cipher, now = current_app.extensions["areas"], current_app.extensions["pii"], utcnow()
    values: dict[str, object] = {}
    with current_app.extensions["db"].sessionmaker() as session:
        for env_name, (name, role, area) in DEMO_ACCOUNTS.items():
            values[env_name] = _fresh_token(session, name, role=role, area_code=area, now=now)
        for prefix, firm_data, driver_data, vehicle_data in (("VEG", VEG_FIRM, VEG_DRIVER, VEG_VAN),
                                                             ("HK", HK_FIRM, HK_DRIVER, HK_TRACTOR)):
            firm, token, driver, vehicle = _firm_with_fleet(session, firm_data, driver_data, vehicle_data, now=now)
            values.update({f"{prefix}_FIRM_ID": firm.id, f"{prefix}_FIRM_TOKEN": token,
                           f"{prefix}_DRIVER": driver.id, f"{prefix}_VEHICLE": vehicle.id})
        crossing = session.scalars(select(Site).where(Site.ref_code == CROSSING_REF)).one()
        yard = session.scalars(select(Site).where(Site.name == YARD["name"])).first()
        if yard is None:
            yard = create_site(session, data=_load(SiteIn(), YARD), actor=SYSTEM, areas=areas, now=now)
        values["YARD"] = _fresh_token(session, YARD_ACCOUNT, role=Role.YARD, site_id=yard.id, now=now)
        values["OFFICER"] = _fresh_token(session, OFFICER_ACCOUNT, role=Role.OFFICER, site_id=crossing.id, now=now)
        sign_ins = _sign_ins(session, values, now=now)
        # Test freshness expires (72 h at the normal level): each run records a new negative result.
        tests = [_load(HealthTestIn(), {"id_type": p["id_type"], "id_number": p["id_number"], "lab": "Demo lab",
                                        "sampled_at": (now - timedelta(hours=1)).isoformat(), "result": "negative"})
                 for p in (VEG_DRIVER, HK_DRIVER)]
        record_tests(session, tests, actor=SYSTEM, cipher=cipher, now=now)
        route_pass = _route_pass(session, values, crossing=crossing, yard=yard, now=now)
    api = "http://" + os.environ.get("GREENLANE_BIND", "127.0.0.1:8000")
    tour = {
        "BASE": (api, "the demo server"),
        "API": (api + "/api/v1", "the API root"),
        "ADMIN": (values["ADMIN"], "token: Demo admin"),
        "CITY": (values["CITY"], "token: Shenzhen city regulator (440300)"),
        "FUTIAN": (values["FUTIAN"], "token: Futian district regulator (440304)"),
        "NANSHAN": (values["NANSHAN"], "token: Nanshan district regulator (440305)"),
        "AUDITOR": (values["AUDITOR"], "token: Demo auditor"),
        "HEALTH": (values["HEALTH"], "token: Demo health lab"),
        "VEG_FIRM": (values["VEG_FIRM_TOKEN"], "token: the Futian vegetable firm's account"),
        "VEG_FIRM_ID": (values["VEG_FIRM_ID"], "the Futian vegetable firm (mainland collector)"),
        "VEG_DRIVER": (values["VEG_DRIVER"], "its driver 李师傅"),
        "VEG_VAN": (values["VEG_VEHICLE"], "its van 粤BD12345"),
        "HKFIRM": (values["HK_FIRM_TOKEN"], "token: the Hong Kong freight firm's account"),
        "HK_FIRM_ID": (values["HK_FIRM_ID"], "the Hong Kong freight firm"),
        "HK_DRIVER": (values["HK_DRIVER"], "its cross-border driver 陳大文 (HKID A123456(3))"),
        "HK_TRACTOR": (values["HK_VEHICLE"], "its tractor 粤Z1234港 / FV1234"),
        "YARD": (values["YARD"], "token: staff of the demo relay yard"),
        "YARD_ID": (yard.id, "the demo relay yard (Futian 440304001)"),
        "OFFICER": (values["OFFICER"], "token: an officer at the Shenzhen Bay crossing"),
        "CROSSING_ID": (crossing.id, "the Shenzhen Bay crossing (SZB)"),
        "HK_PASS": (route_pass.id, "the tractor's route-bound pass (crossing SZB -> the demo yard)"),
        "HK_QR": (route_pass.qr, "its QR text, as the yard scans it"),
    }
    lines = [f"# GreenLane tour values from `make run` at {now:%Y-%m-%d %H:%M} UTC (development only)."]
    lines += [f"export {name}={shlex.quote(str(value))}   # {what}" for name, (value, what) in tour.items()]
    path = Path(env_file) if env_file else Path(current_app.instance_path) / "tour.env"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    click.echo("\nDemo values (development only; new tokens are issued on every `make run`). Paste them, or:")
    click.echo(f"  source {_shown(path)}\n")
    click.echo("\n".join(lines))
    click.echo("\n# Web sign-ins (development only; published passwords):")
    click.echo("\n".join(f"#   {username:<18} {password:<28} {what}" for username, password, what in sign_ins))
    click.echo(f"\nAPI docs: {api}/api/v1/docs   OpenAPI: {api}/api/v1/openapi.json\n")


def _fresh_token(session, name: str, *, role: Role, now, area_code: str | None = None,
                 site_id: int | None = None, firm_id: int | None = None) -> str:
    account = session.scalars(select(Account).where(Account.name == name, Account.role == role)).first()
    if account is None:
        _, token = create_account(session, name=name, role=role, area_code=area_code, site_id=site_id,
                                  firm_id=firm_id, areas=current_app.extensions["areas"], actor=SYSTEM, now=now)
        return token
    return rotate_token(session, account.id, actor=SYSTEM, now=now)


def _sign_ins(session, values: dict, *, now) -> list[tuple[str, str, str]]:
    """Give the demo people user names and the published demo passwords; return (name, password, who)."""
    shown = []
    for username, value_name in DEMO_SIGN_INS.items():
        account = session.scalars(select(Account).where(Account.token_hash == hash_token(values[value_name]))).one()
        password = f"demo-pass-{username}"
        give_sign_in(session, account.id, username=username, password=password,
                     passwords=current_app.extensions["passwords"], actor=SYSTEM, now=now)
        shown.append((username, password, f"{account.name} (token: ${value_name.removesuffix('_TOKEN')})"))
    return shown


def _firm_with_fleet(session, firm_data: dict, driver_data: dict, vehicle_data: dict, *, now):
    """The firm (approved: registered by the system admin), its account's fresh token, one driver, one vehicle."""
    areas, cipher = current_app.extensions["areas"], current_app.extensions["pii"]
    firm_in = _load(FirmIn(), firm_data)
    firm = session.scalars(select(Firm).where(Firm.uscc == firm_in["uscc"])).first()
    if firm is None:
        firm, token = services.register_firm(session, data=firm_in, actor=SYSTEM, areas=areas, cipher=cipher,
                                             now=now)
        driver = services.register_person(session, data=_load(PersonIn(), {**driver_data, "firm_id": firm.id}),
                                          actor=SYSTEM, areas=areas, cipher=cipher, now=now)
        vehicle = services.register_vehicle(session, data=_load(VehicleIn(), {**vehicle_data, "firm_id": firm.id}),
                                            actor=SYSTEM, areas=areas, now=now)
        return firm, token, driver, vehicle
    account = session.scalars(select(Account).where(Account.firm_id == firm.id)).first()
    token = rotate_token(session, account.id, actor=SYSTEM, now=now)
    driver = session.scalars(select(Person).where(Person.firm_id == firm.id).order_by(Person.id)).first()
    vehicle = session.scalars(select(Vehicle).where(Vehicle.firm_id == firm.id).order_by(Vehicle.id)).first()
    return firm, token, driver, vehicle


def _route_pass(session, values: dict, *, crossing: Site, yard: Site, now) -> VehiclePass:
    """The Hong Kong tractor's route-bound pass; a new one when the last ends within a day."""
    blocking = list(session.scalars(select(VehiclePass).where(
        VehiclePass.vehicle_id == values["HK_VEHICLE"], VehiclePass.status.in_(pass_services.BLOCKING))
        .order_by(VehiclePass.valid_until.desc())))
    if blocking and blocking[0].status is PassStatus.ACTIVE and blocking[0].route_yard_site_id == yard.id \
            and blocking[0].valid_until > now + RENEW_WITHIN:
        return blocking[0]
    areas = current_app.extensions["areas"]
    firm_account = session.scalars(select(Account).where(Account.firm_id == values["HK_FIRM_ID"])).first()
    for old in blocking:  # a new window may not overlap an old one
        pass_services.change_pass_status(session, old.id, "reject" if old.status is PassStatus.PENDING else "revoke",
                                         actor=SYSTEM, areas=areas, reason="replaced by a fresh demo pass", now=now)
    max_days = current_app.config["MAX_PASS_DAYS"]
    data = _load(PassIn(), {
        "vehicle_id": values["HK_VEHICLE"], "driver_ids": [values["HK_DRIVER"]], "category": "vegetables",
        "scope": ROUTE_SCOPE, "valid_from": (now - timedelta(hours=1)).isoformat(),
        "valid_until": (now - timedelta(hours=1) + timedelta(days=max_days)).isoformat(),
        "purpose": "跨境蔬菜接驳 cross-border vegetables to the relay yard",
        "route": {"crossing_site_id": crossing.id, "yard_site_id": yard.id}})
    applied = pass_services.apply_for_pass(session, data=data, actor=Actor.of(firm_account), areas=areas,
                                           max_days=max_days, now=now)
    return pass_services.approve_pass(session, applied.id, actor=SYSTEM, areas=areas,
                                      ring=current_app.extensions["keyring"], now=now)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
