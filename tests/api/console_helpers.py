"""Helpers for the console page tests: pending passes inserted directly (hundreds in one statement), and
regulators, admins and auditors who sign in to the pages."""
from datetime import datetime, timedelta

from sqlalchemy import insert

from core.accounts import Role
from passes.models import PassArea, PassDriver, PassStatus, VehiclePass
from tests.api.web_helpers import sign_in
from tests.factories import WEB_PASSWORD, make_web_user

CONSOLE_USERS = {"futian.reg": (Role.REGULATOR, "440304"), "nanyuan.reg": (Role.REGULATOR, "440304001"),
                 "nanshan.reg": (Role.REGULATOR, "440305"), "city.reg": (Role.REGULATOR, "440300"),
                 "console.admin": (Role.ADMIN, None), "console.auditor": (Role.AUDITOR, None)}


def make_console_users(session, areas, now) -> None:
    for username, (role, area) in CONSOLE_USERS.items():
        make_web_user(session, areas, now, role, username=username, area_code=area, name=f"{username} 监管")


def as_user(client, username: str):
    client.delete_cookie("greenlane_session")
    assert sign_in(client, username, WEB_PASSWORD).status_code == 303
    return client


def insert_pending(session, *, firm_id: int, vehicle_id: int, plate: str, driver_id: int, count: int,
                   scope=("440304001",), created_at: datetime, prefix: str = "P", category="vegetables",
                   purpose: str = "配送蔬菜", days: int = 3) -> list[str]:
    """`count` pending passes, one minute apart from `created_at` on (the first is the oldest). The ids are
    `prefix` and a number, 8 characters in all, so they sort like their age."""
    ids = [f"{prefix}{i:0{8 - len(prefix)}d}" for i in range(count)]
    rows = [dict(id=pid, firm_id=firm_id, vehicle_id=vehicle_id, plate=plate, hk_plate=None, category=category,
                 scope=list(scope), valid_from=created_at, valid_until=created_at + timedelta(days=days),
                 purpose=purpose, status=PassStatus.PENDING, created_at=created_at + timedelta(minutes=i),
                 updated_at=created_at + timedelta(minutes=i)) for i, pid in enumerate(ids)]
    session.execute(insert(VehiclePass), rows)
    session.execute(insert(PassDriver), [dict(pass_id=pid, person_id=driver_id) for pid in ids])
    session.execute(insert(PassArea), [dict(pass_id=pid, area_code=code) for pid in ids for code in scope])
    session.commit()
    return ids
