"""Demo data for `make run`: accounts for every role, two firms, their drivers and vehicles.

Idempotent: data is created once; the demo accounts get fresh tokens on every run (tokens are stored
hashed, so the only way to show them again is to issue new ones)."""
import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from core.accounts import SYSTEM, Account, Role, create_account, rotate_token
from core.clock import utcnow
from whitelist import services
from whitelist.models import Category, Firm, IdType, PersonKind, VehicleKind

DEMO_ACCOUNTS = [
    ("Demo admin", Role.ADMIN, None),
    ("Shenzhen city regulator", Role.REGULATOR, "440300"),
    ("Futian district regulator", Role.REGULATOR, "440304"),
    ("Nanshan district regulator", Role.REGULATOR, "440305"),
    ("Demo auditor", Role.AUDITOR, None),
    ("Demo health lab", Role.HEALTH, None),
]
DEMO_FIRM = dict(name="深圳市示范蔬菜配送有限公司 (demo)", uscc="91440300MA5G00000R", category=Category.VEGETABLES,
                 area_code="440304001", address="福田区南园街道示范路 1 号", contact_name="陈经理",
                 contact_phone="13800138000")
DEMO_PEOPLE = [
    dict(kind=PersonKind.DRIVER, name="李师傅", id_type=IdType.CN_RESIDENT_ID, id_number="440304200001010009",
         phone="13900139000"),
    dict(kind=PersonKind.CROSS_BORDER_DRIVER, name="陳大文", id_type=IdType.HK_ID, id_number="A123456(3)",
         phone="+852 91234567"),
]
DEMO_VEHICLES = [
    dict(plate="粤BD12345", hk_plate=None, kind=VehicleKind.VAN),
    dict(plate="粤Z1234港", hk_plate="FV1234", kind=VehicleKind.TRACTOR),
]

demo = AppGroup("demo", help="Demo data for a development instance.")


@demo.command("load")
def load():
    """Create the demo data if missing and print fresh tokens for the demo accounts."""
    areas, cipher, now = current_app.extensions["areas"], current_app.extensions["pii"], utcnow()
    with current_app.extensions["db"].sessionmaker() as session:
        tokens = []
        for name, role, area in DEMO_ACCOUNTS:
            account = session.scalars(select(Account).where(Account.name == name)).first()
            if account is None:
                _, token = create_account(session, name=name, role=role, area_code=area, areas=areas,
                                          actor=SYSTEM, now=now)
            else:
                token = rotate_token(session, account.id, actor=SYSTEM, now=now)
            tokens.append((name, token))
        firm = session.scalars(select(Firm).where(Firm.uscc == DEMO_FIRM["uscc"])).first()
        if firm is None:
            firm, firm_token = services.register_firm(session, data=DEMO_FIRM, actor=SYSTEM, areas=areas, now=now)
            for person in DEMO_PEOPLE:
                services.register_person(session, data={**person, "firm_id": firm.id}, actor=SYSTEM, areas=areas,
                                         cipher=cipher, now=now)
            for vehicle in DEMO_VEHICLES:
                services.register_vehicle(session, data={**vehicle, "firm_id": firm.id}, actor=SYSTEM,
                                          areas=areas, now=now)
        else:
            account = session.scalars(select(Account).where(Account.firm_id == firm.id)).first()
            firm_token = rotate_token(session, account.id, actor=SYSTEM, now=now)
        tokens.append((f"Firm account of firm {firm.id}", firm_token))
    click.echo("\nDemo tokens (development only; new ones are issued on every `make run`):")
    for name, token in tokens:
        click.echo(f"  {name:32} {token}")
    click.echo("\nAPI docs: http://127.0.0.1:8000/api/v1/docs   OpenAPI: http://127.0.0.1:8000/api/v1/openapi.json\n")
