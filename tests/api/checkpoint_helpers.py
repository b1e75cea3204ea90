"""Shared helpers for the checkpoint API tests: one firm whose three drivers have a fresh, a 30-hour-old and
no negative test, two checkpoints about 38 km apart, an account of every kind, and passes issued through
the real services on the real clock (the API compares with utcnow())."""
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from core.accounts import SYSTEM, Actor, Role
from checkpoints.models import SiteKind
from checkpoints.sites import create_site
from passes import services
from tests.api.helpers import API, resident_ids
from tests.factories import bearer, make_firm, make_person, make_token, make_vehicle, pass_data, record_negative_test

FIRM_NAME = "深圳市海吉星蔬菜配送有限公司"
DRIVER_IDS = resident_ids(3)  # fresh, aging, untested
DRIVER_NAMES = ["李师傅", "王师傅", "张师傅"]
PLATES = ["粤B20001", "粤B20002", "粤B20003", "粤B20004", "粤B20005", "粤B20006"]
NANYUAN, KENGZI = "440304001", "440310005"
SITE_A = dict(name="南园检查站 Nanyuan checkpoint", kind=SiteKind.CHECKPOINT, area_code=NANYUAN, lat=22.543,
              lon=114.085, capacity=None)
SITE_B = dict(name="坑梓检查站 Kengzi checkpoint", kind=SiteKind.CHECKPOINT, area_code=KENGZI, lat=22.75,
              lon=114.38, capacity=None)
CITY = Actor(None, "city regulator", Role.REGULATOR, area_code="440300")
REGULATORS = {"city": "440300", "futian": "440304", "nanshan": "440305", "pingshan": "440310"}


def clock() -> datetime:
    """Whole seconds of the real clock."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Post:
    """The checkpoint world: firm, drivers, vehicles, sites A and B, and tokens by role."""

    session: object
    areas: object
    ring: object
    firm_id: int
    driver_ids: list[int]
    vehicle_ids: list[int]
    site_ids: dict[str, int]
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict:
        return bearer(self.tokens[who])

    def issue(self, vehicle: int = 0, *, drivers=(0,), scope=(NANYUAN,), at: datetime | None = None, **overrides):
        """An approved pass valid from an hour before `at` (default: now, real clock) for three days.
        Scans dated before `at` are refused: the pass did not exist yet."""
        now = at or clock()
        vpass = services.apply_for_pass(
            self.session, data=pass_data(vehicle_id=self.vehicle_ids[vehicle],
                                         driver_ids=[self.driver_ids[d] for d in drivers], now=now, scope=scope,
                                         **overrides),
            actor=Actor(None, "firm", Role.FIRM, firm_id=self.firm_id), areas=self.areas, max_days=7, now=now)
        return services.approve_pass(self.session, vpass.id, actor=CITY, areas=self.areas, ring=self.ring, now=now)


def build_post(session, areas, cipher, ring, now) -> Post:
    firm, firm_token = make_firm(session, areas, now)
    drivers = [make_person(session, areas, cipher, now, firm_id=firm.id, name=name, id_number=number)
               for name, number in zip(DRIVER_NAMES, DRIVER_IDS)]
    record_negative_test(session, cipher, clock(), id_number=DRIVER_IDS[0], hours_ago=1)
    record_negative_test(session, cipher, clock(), id_number=DRIVER_IDS[1], hours_ago=30)
    vehicles = [make_vehicle(session, areas, now, firm_id=firm.id, plate=p, hk_plate="AB1234" if i == 0 else None)
                for i, p in enumerate(PLATES)]
    sites = {name: create_site(session, data=dict(data), actor=SYSTEM, areas=areas, now=now).id
             for name, data in (("a", SITE_A), ("b", SITE_B))}
    post = Post(session, areas, ring, firm.id, [d.id for d in drivers], [v.id for v in vehicles], sites,
                {"firm": firm_token})
    for who, area in REGULATORS.items():
        post.tokens[who] = make_token(session, areas, now, Role.REGULATOR, area_code=area, name=f"监管 {who}")
    for role in (Role.ADMIN, Role.AUDITOR, Role.HEALTH):
        post.tokens[role.value] = make_token(session, areas, now, role, name=f"{role.value} account")
    for name, site_id in sites.items():
        post.tokens[f"officer_{name}"] = make_token(session, areas, now, Role.OFFICER, site_id=site_id,
                                                    name=f"检查员 {name}")
    return post


def scan(client, post: Post, qr: str, who: str = "officer_a", **fields) -> dict:
    """POST /scans; always a 200 with a verdict."""
    body = {"qr": qr, **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in fields.items()}}
    response = client.post(f"{API}/scans", json=body, headers=post.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def health_test(id_number: str, *, result: str = "negative", hours_ago: float = 1, lab: str = "深圳检测 Lab 1") -> dict:
    return dict(id_type="cn_resident_id", id_number=id_number, result=result, lab=lab,
                sampled_at=(clock() - timedelta(hours=hours_ago)).isoformat())


def listing(client, post: Post, path: str, who: str, **query) -> list[dict]:
    response = client.get(f"{API}/{path}", query_string={"page_size": 100, **query}, headers=post.headers(who))
    assert response.status_code == 200, response.get_json()
    return response.get_json()
