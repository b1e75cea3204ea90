"""Helpers for the console page tests: regulators, admins and auditors who sign in to the pages, and pending
passes inserted directly (hundreds in one statement)."""
from datetime import datetime, timedelta

from sqlalchemy import insert

from core.accounts import Role
from passes.models import PassArea, PassDriver, PassStatus, VehiclePass
from tests.api.web_helpers import csrf_token_of, html_of, sign_in
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


def console_user(client, session, areas, now, role=Role.REGULATOR, *, area_code="440304", username=None):
    """A web account of `role` (a regulator of `area_code`), signed in on `client`."""
    username = username or f"{role.value}.{area_code or 'all'}"
    account = make_web_user(session, areas, now, role, username=username, name=f"{role.value} {area_code}",
                            area_code=area_code if role is Role.REGULATOR else None)
    assert sign_in(client, username, WEB_PASSWORD).status_code == 303
    return account


def page(client, url):
    response = client.get(url, headers={"Accept-Language": "zh-CN"})
    return response, html_of(response)


def post_with_token(client, url: str, data: dict, *, token_page: str):
    """POST as a browser does, with the CSRF token of a console page this user may open."""
    token = csrf_token_of(html_of(client.get(token_page)))
    return client.post(url, data={"csrf_token": token, **data}, headers={"Accept-Language": "zh-CN"})
