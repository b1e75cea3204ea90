"""Deterministic test data built through the real services (no random values)."""
from datetime import timedelta

from core.accounts import PUBLIC, SYSTEM, Role, create_account
from core.pii import PersonalDataCipher, decode_key
from checkpoints.health import record_tests
from checkpoints.models import TestResult
from tests.conftest import KEYS
from whitelist import services
from whitelist.models import Category, IdType, PersonKind, VehicleKind

# Valid synthetic identifiers from ../shared/identifiers.md (they belong to nobody).
USCC = ["91440300MA5G00000R", "92440300L00000003P", "52440300500000007X", "91110000600037341L"]
RESIDENT_IDS = ["440304200001010009", "11010519491231002X", "440311201901010002", "810000200001010006"]


def firm_data(**overrides) -> dict:
    data = dict(name="深圳市海吉星蔬菜配送有限公司", uscc=USCC[0], category=Category.VEGETABLES,
                area_code="440304", address="福田区福华路 1 号", contact_name="陈经理",
                contact_phone="+86 13800138000")
    return {**data, **overrides}


def make_firm(session, areas, now, *, approved=True, cipher=None, **overrides):
    actor = SYSTEM if approved else PUBLIC
    firm, token = services.register_firm(session, data=firm_data(**overrides), actor=actor, areas=areas,
                                         cipher=cipher or personal_data_cipher(), now=now)
    return firm, token


def personal_data_cipher() -> PersonalDataCipher:
    """The personal-data cipher of the test apps (same keys as tests/conftest.py gives create_app)."""
    return PersonalDataCipher(decode_key(KEYS["DATA_KEY"], "DATA_KEY"), decode_key(KEYS["INDEX_KEY"], "INDEX_KEY"))


def person_data(**overrides) -> dict:
    data = dict(kind=PersonKind.DRIVER, name="李师傅", id_type=IdType.CN_RESIDENT_ID,
                id_number=RESIDENT_IDS[0], phone="+86 13900139000")
    return {**data, **overrides}


def make_person(session, areas, cipher, now, *, firm_id, **overrides):
    return services.register_person(session, data=person_data(firm_id=firm_id, **overrides), actor=SYSTEM,
                                    areas=areas, cipher=cipher, now=now)


def make_vehicle(session, areas, now, *, firm_id, plate="粤B12345", hk_plate=None, kind=VehicleKind.VAN):
    return services.register_vehicle(session, data=dict(firm_id=firm_id, plate=plate, hk_plate=hk_plate,
                                                        kind=kind), actor=SYSTEM, areas=areas, now=now)


def make_token(session, areas, now, role: Role, *, area_code=None, firm_id=None, site_id=None,
               name=None) -> str:
    _, token = create_account(session, name=name or f"test {role.value}", role=role, area_code=area_code,
                              firm_id=firm_id, site_id=site_id, areas=areas, actor=SYSTEM, now=now)
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}



def pass_data(*, vehicle_id, driver_ids, now, scope=("440304001",), days=3, **overrides) -> dict:
    data = dict(vehicle_id=vehicle_id, driver_ids=list(driver_ids), category=Category.VEGETABLES, scope=list(scope),
                valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=days), purpose="配送蔬菜")
    return {**data, **overrides}


def record_negative_test(session, cipher, now, *, id_type=IdType.CN_RESIDENT_ID, id_number=RESIDENT_IDS[0],
                         hours_ago=1):
    """A fresh negative result, so the person's passes are not stopped for want of a test."""
    return record_tests(session, [dict(id_type=id_type, id_number=id_number, sampled_at=now - timedelta(hours=hours_ago),
                                       result=TestResult.NEGATIVE, lab="test lab")], actor=SYSTEM, cipher=cipher,
                        now=now)


WEB_PASSWORD = "correct horse battery"


def make_web_user(session, areas, now, role: Role, *, username: str, password: str = WEB_PASSWORD,
                  name=None, area_code=None, firm_id=None, site_id=None, firm_role=None):
    """An account a person signs in to with a user name and password (no token)."""
    from argon2 import PasswordHasher

    from core.accounts import add_account
    from core.db import transaction
    with transaction(session):
        account, _ = add_account(session, name=name or f"web {role.value}", role=role, area_code=area_code,
                                 firm_id=firm_id, site_id=site_id, areas=areas, actor=SYSTEM, now=now,
                                 username=username, password_hash=PasswordHasher().hash(password),
                                 firm_role=firm_role, with_token=False)
    return account
