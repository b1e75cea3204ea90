"""White-list use cases: register, approve, suspend and look up firms, people and vehicles."""
import json
import re
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.accounts import Actor, FirmRole, Role, add_account
from core.areas import AreaTree
from core.db import Page, paged, transaction
from core.errors import Forbidden, Unprocessable
from core.passwords import Passwords
from core.permissions import require_regulates, visible_area_codes
from core.pii import PersonalDataCipher
from whitelist import identifiers as ids
from whitelist.events import entry_status_changed, firm_status_changed
from whitelist.errors import (DuplicateCreditCode, DuplicatePerson, DuplicatePlate, FirmNotFound,
                              PersonNotFound, VehicleNotFound)
from whitelist.models import EntryStatus, Firm, FirmStatus, IdType, Person, Vehicle
from whitelist.rules import (change_entry_status, may_manage_firm_records, may_read_firm_records,
                             require_records_open, require_registrable_area)


# ---- firms -----------------------------------------------------------------------------------------

def firm_fields(data: dict, *, cipher: PersonalDataCipher) -> dict:
    """A validated firm with its contact phone encrypted and masked; the clear phone goes no further."""
    fields = {k: v for k, v in data.items() if k != "contact_phone"}
    return dict(fields, contact_phone_enc=cipher.encrypt(data["contact_phone"], purpose="contact_phone"),
                contact_phone_masked=ids.mask_phone(data["contact_phone"]))


def register_firm(session: Session, *, data: dict, actor: Actor, areas: AreaTree, cipher: PersonalDataCipher,
                  now: datetime, passwords: Passwords | None = None) -> tuple[Firm, str]:
    """Register a firm and a firm account bound to it (its manager); return the firm and the account's
    one-time token. With `username` and `password` in `data` that account is also the firm's first web user.

    Anyone may apply (the firm starts `pending`); a regulator registering a firm in its own area
    approves it at once. Raises DuplicateCreditCode, UsernameTaken, Forbidden, Unprocessable.
    """
    username, password = data.get("username"), data.get("password")
    data = {k: v for k, v in data.items() if k not in ("username", "password")}
    # Hashed before the transaction: Argon2 is slow on purpose and must not hold the write lock.
    password_hash = passwords.hash(password) if username is not None and password is not None else None
    require_registrable_area(data["area_code"], areas)
    if actor.role is None:
        status = FirmStatus.PENDING
    elif actor.role in (Role.REGULATOR, Role.ADMIN):
        require_regulates(actor, data["area_code"], areas)
        status = FirmStatus.APPROVED
    else:
        raise Forbidden("only applicants without an account, regulators and admins register firms")
    with transaction(session):
        if session.scalar(select(Firm.id).where(Firm.uscc == data["uscc"])) is not None:
            raise DuplicateCreditCode(f"a firm with credit code {data['uscc']} is already registered")
        fields = firm_fields(data, cipher=cipher)
        firm = Firm(**fields, status=status, created_at=now, updated_at=now)
        session.add(firm)
        _flush_or_conflict(session, DuplicateCreditCode(f"credit code {data['uscc']} is already registered"))
        audit.record(session, actor.audit, "firm.registered", object_type="firm", object_id=firm.id,
                     changes={**data, "contact_phone": firm.contact_phone_masked, "category": firm.category.value,
                              "status": status.value}, at=now)
        # The person who applied signs in as the contact; a token-only account carries the firm's name
        # (cut to the account column's 128 characters: a firm name may have 200).
        account_name = firm.contact_name if password_hash else firm.name[:128]
        _, token = add_account(session, name=account_name, role=Role.FIRM,
                               firm_id=firm.id, areas=areas, actor=actor, now=now,
                               username=username if password_hash else None, password_hash=password_hash,
                               firm_role=FirmRole.MANAGER)
    return firm, token


def change_firm_status(session: Session, firm_id: int, action: str, *, actor: Actor, areas: AreaTree,
                       now: datetime, reason: str | None = None) -> Firm:
    """approve or reject a pending firm, suspend or reinstate an approved one, revoke one for good, by a
    regulator whose area contains the firm's area. Raises FirmNotFound, Forbidden, InvalidState."""
    with transaction(session):
        firm = _get_firm_for_update(session, firm_id)
        require_regulates(actor, firm.area_code, areas)
        previous = firm.apply(action, at=now)
        audit.record(session, actor.audit, f"firm.{_past(action)}", object_type="firm", object_id=firm.id,
                     changes={"status": [previous.value, firm.status.value], "reason": reason}, at=now)
        firm_status_changed.send(session, firm=firm, action=action, actor=actor, now=now)
    return firm


def get_firm(session: Session, firm_id: int, *, actor: Actor, areas: AreaTree) -> Firm:
    """Raises FirmNotFound, or Forbidden when the caller may not see this firm."""
    firm = session.get(Firm, firm_id)
    if firm is None:
        raise FirmNotFound(f"firm {firm_id} does not exist")
    if not may_read_firm_records(actor, firm_id=firm.id, firm_area=firm.area_code, areas=areas):
        raise Forbidden("this firm is outside your jurisdiction")
    return firm


def list_firms(session: Session, *, actor: Actor, areas: AreaTree, filters: dict,
               page: Page) -> tuple[list[Firm], int]:
    query = _firm_filters(select(Firm), filters, areas)
    if actor.role is Role.FIRM:
        query = query.where(Firm.id == actor.firm_id)
    else:
        visible = visible_area_codes(actor, areas)
        if visible is not None:
            query = query.where(Firm.area_code.in_(visible))
    return paged(session, query.order_by(Firm.id), page)


def search_public_firms(session: Session, *, filters: dict, areas: AreaTree,
                        page: Page) -> tuple[list[Firm], int]:
    """Approved firms only: what the public may see of the white list."""
    query = _firm_filters(select(Firm).where(Firm.status == FirmStatus.APPROVED), filters, areas)
    return paged(session, query.order_by(Firm.name, Firm.id), page)


def _firm_filters(query: Select, filters: dict, areas: AreaTree) -> Select:
    if filters.get("status"):
        query = query.where(Firm.status == filters["status"])
    if filters.get("category"):
        query = query.where(Firm.category == filters["category"])
    if filters.get("area"):
        query = query.where(Firm.area_code.in_(areas.descendants(filters["area"])))
    if filters.get("q"):
        text = filters["q"].strip()
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(Firm.name.ilike(f"%{escaped}%", escape="\\"), Firm.uscc == text.upper()))
    return query


# ---- people ----------------------------------------------------------------------------------------

def person_fields(data: dict, *, cipher: PersonalDataCipher) -> dict:
    """Encrypt, index and mask one validated person; the clear id number goes no further."""
    id_type: IdType = data["id_type"]
    number, phone = data["id_number"], data["phone"]
    return dict(kind=data["kind"], name=data["name"].strip(), id_type=id_type,
                id_number_enc=cipher.encrypt(number, purpose="id_number"),
                id_hash=cipher.blind_index(ids.person_key(id_type.value, number)),
                id_masked=ids.mask_id_number(number),
                phone_enc=cipher.encrypt(phone, purpose="phone"), phone_masked=ids.mask_phone(phone))


def register_person(session: Session, *, data: dict, actor: Actor, areas: AreaTree,
                    cipher: PersonalDataCipher, now: datetime) -> Person:
    """Add a courier or driver to a firm's white list. Raises DuplicatePerson, Forbidden, FirmNotFound."""
    with transaction(session):
        firm = require_manageable_firm(session, _firm_id_for(actor, data), actor=actor, areas=areas)
        fields = person_fields(data, cipher=cipher)
        hashes = cipher.search_hashes(ids.person_key(data["id_type"].value, data["id_number"]))
        if session.scalar(select(Person.id).where(Person.firm_id == firm.id,
                                                  Person.id_hash.in_(hashes))) is not None:
            raise DuplicatePerson("this person is already on the firm's list")
        person = Person(firm_id=firm.id, **fields, status=EntryStatus.ACTIVE, created_at=now, updated_at=now)
        session.add(person)
        _flush_or_conflict(session, DuplicatePerson("this person is already on the firm's list"))
        audit.record(session, actor.audit, "person.registered", object_type="person", object_id=person.id,
                     changes={"firm_id": firm.id, "kind": person.kind.value, "name": person.name,
                              "id_type": person.id_type.value, "id_number": person.id_masked}, at=now)
    return person


def get_person(session: Session, person_id: int, *, actor: Actor, areas: AreaTree) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"person {person_id} does not exist")
    _require_readable(session, person.firm_id, actor=actor, areas=areas)
    return person


def list_people(session: Session, *, actor: Actor, areas: AreaTree, cipher: PersonalDataCipher,
                filters: dict, page: Page) -> tuple[list[Person], int]:
    query = _scoped_to_reader(select(Person), Person.firm_id, actor, areas)
    for column in ("firm_id", "kind", "status", "id_type"):
        if filters.get(column) is not None:
            query = query.where(getattr(Person, column) == filters[column])
    if filters.get("q"):
        query = query.where(_person_text_filter(filters["q"]))
    if filters.get("id_number"):
        try:
            number = ids.validate_id_number(filters["id_type"].value, filters["id_number"])
        except ValueError:
            return [], 0
        query = query.where(Person.id_hash.in_(cipher.search_hashes(ids.person_key(filters["id_type"].value,
                                                                                   number))))
    return paged(session, query.order_by(Person.id), page)


def _person_text_filter(text: str):
    """Part of the name, or the last characters of the identity number as the masked form shows them
    (the clear number is not stored, so nothing else of it can be searched)."""
    text = text.strip()
    conditions = [Person.name.ilike(f"%{_escape_like(text)}%", escape="\\")]
    if LAST_ID_CHARS.fullmatch(text):
        conditions.append(Person.id_masked.like(f"%{text.upper()}"))
    return or_(*conditions)


LAST_ID_CHARS = re.compile(r"[0-9A-Za-z]{1,4}")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def update_person(session: Session, person_id: int, *, data: dict, actor: Actor, areas: AreaTree,
                  cipher: PersonalDataCipher, now: datetime) -> Person:
    """Correct a person's name or phone. The identity is never changed: a new identity is a new person.
    Raises PersonNotFound, Forbidden, FirmSuspended."""
    with transaction(session):
        person = session.get(Person, person_id, with_for_update=True)
        if person is None:
            raise PersonNotFound(f"person {person_id} does not exist")
        require_manageable_firm(session, person.firm_id, actor=actor, areas=areas)
        changes = {}
        if data.get("name") is not None and data["name"].strip() != person.name:
            changes["name"] = [person.name, data["name"].strip()]
            person.name = data["name"].strip()
        if data.get("phone") is not None and ids.mask_phone(data["phone"]) != person.phone_masked:
            changes["phone"] = [person.phone_masked, ids.mask_phone(data["phone"])]
            person.phone_enc = cipher.encrypt(data["phone"], purpose="phone")
            person.phone_masked = ids.mask_phone(data["phone"])
        if changes:  # saving an unchanged form writes nothing
            person.updated_at = now
            audit.record(session, actor.audit, "person.updated", object_type="person", object_id=person.id,
                         changes=changes, at=now)
    return person


def set_person_status(session: Session, person_id: int, target: EntryStatus, *, actor: Actor,
                      areas: AreaTree, reason: str, now: datetime) -> Person:
    """Suspend or reinstate a person, by a regulator whose area contains the firm."""
    return _set_entry_status(session, Person, person_id, target, actor=actor, areas=areas, reason=reason, now=now)


# ---- vehicles --------------------------------------------------------------------------------------

def register_vehicle(session: Session, *, data: dict, actor: Actor, areas: AreaTree,
                     now: datetime) -> Vehicle:
    """Add a vehicle to a firm's white list. Raises DuplicatePlate, Forbidden, FirmNotFound."""
    with transaction(session):
        firm = require_manageable_firm(session, _firm_id_for(actor, data), actor=actor, areas=areas)
        plates = [p for p in (data["plate"], data.get("hk_plate")) if p]
        taken = session.scalar(select(Vehicle.id).where(or_(Vehicle.plate.in_(plates),
                                                            Vehicle.hk_plate.in_(plates))))
        if taken is not None:
            raise DuplicatePlate(f"plate {' / '.join(plates)} is already registered")
        vehicle = Vehicle(firm_id=firm.id, plate=data["plate"], hk_plate=data.get("hk_plate"),
                          kind=data["kind"], status=EntryStatus.ACTIVE, created_at=now, updated_at=now)
        session.add(vehicle)
        _flush_or_conflict(session, DuplicatePlate(f"plate {data['plate']} is already registered"))
        audit.record(session, actor.audit, "vehicle.registered", object_type="vehicle",
                     object_id=vehicle.id, changes={"firm_id": firm.id, "plate": vehicle.plate,
                                                    "hk_plate": vehicle.hk_plate,
                                                    "kind": vehicle.kind.value}, at=now)
    return vehicle


def get_vehicle(session: Session, vehicle_id: int, *, actor: Actor, areas: AreaTree) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise VehicleNotFound(f"vehicle {vehicle_id} does not exist")
    _require_readable(session, vehicle.firm_id, actor=actor, areas=areas)
    return vehicle


def list_vehicles(session: Session, *, actor: Actor, areas: AreaTree, filters: dict,
                  page: Page) -> tuple[list[Vehicle], int]:
    query = _scoped_to_reader(select(Vehicle), Vehicle.firm_id, actor, areas)
    if filters.get("firm_id") is not None:
        query = query.where(Vehicle.firm_id == filters["firm_id"])
    if filters.get("status") is not None:
        query = query.where(Vehicle.status == filters["status"])
    if filters.get("plate"):
        plate = ids.normalise_plate(filters["plate"])
        query = query.where(or_(Vehicle.plate == plate, Vehicle.hk_plate == plate))
    if filters.get("q"):  # part of a plate, as typed (粤b 123 finds 粤B12345)
        part = _escape_like(ids.normalise_plate(filters["q"]))
        query = query.where(or_(Vehicle.plate.like(f"%{part}%", escape="\\"),
                                Vehicle.hk_plate.like(f"%{part}%", escape="\\")))
    return paged(session, query.order_by(Vehicle.id), page)


def update_vehicle(session: Session, vehicle_id: int, *, data: dict, actor: Actor, areas: AreaTree,
                   now: datetime) -> Vehicle:
    """Correct a vehicle's kind. Its plates are its identity (printed on its passes): a new plate is a new
    vehicle. Raises VehicleNotFound, Forbidden, FirmSuspended."""
    with transaction(session):
        vehicle = session.get(Vehicle, vehicle_id, with_for_update=True)
        if vehicle is None:
            raise VehicleNotFound(f"vehicle {vehicle_id} does not exist")
        require_manageable_firm(session, vehicle.firm_id, actor=actor, areas=areas)
        if data["kind"] is not vehicle.kind:
            audit.record(session, actor.audit, "vehicle.updated", object_type="vehicle", object_id=vehicle.id,
                         changes={"kind": [vehicle.kind.value, data["kind"].value]}, at=now)
            vehicle.kind, vehicle.updated_at = data["kind"], now
    return vehicle



def set_vehicle_status(session: Session, vehicle_id: int, target: EntryStatus, *, actor: Actor,
                       areas: AreaTree, reason: str, now: datetime) -> Vehicle:
    """Suspend or reinstate a vehicle, by a regulator whose area contains the firm."""
    return _set_entry_status(session, Vehicle, vehicle_id, target, actor=actor, areas=areas, reason=reason, now=now)


# ---- shared guards ---------------------------------------------------------------------------------

def require_manageable_firm(session: Session, firm_id: int, *, actor: Actor, areas: AreaTree) -> Firm:
    """The firm, if the caller may manage its people and vehicles now. Raises FirmNotFound, Forbidden or
    FirmSuspended."""
    firm = session.get(Firm, firm_id)
    if firm is None:
        raise FirmNotFound(f"firm {firm_id} does not exist")
    if not may_manage_firm_records(actor, firm_id=firm.id, firm_area=firm.area_code, areas=areas):
        raise Forbidden("you may not manage this firm's records")
    require_records_open(firm.status)
    return firm


def _require_readable(session: Session, firm_id: int, *, actor: Actor, areas: AreaTree) -> None:
    firm = session.get(Firm, firm_id)
    if not may_read_firm_records(actor, firm_id=firm.id, firm_area=firm.area_code, areas=areas):
        raise Forbidden("this record is outside your jurisdiction")


def _scoped_to_reader(query: Select, firm_id_column, actor: Actor, areas: AreaTree) -> Select:
    if actor.role is Role.FIRM:
        return query.where(firm_id_column == actor.firm_id)
    visible = visible_area_codes(actor, areas)
    if visible is None:
        return query
    return query.where(firm_id_column.in_(select(Firm.id).where(Firm.area_code.in_(visible))))


_NOT_FOUND = {Person: (PersonNotFound, "person"), Vehicle: (VehicleNotFound, "vehicle")}


def _set_entry_status(session: Session, model, item_id: int, target: EntryStatus, *, actor: Actor,
                      areas: AreaTree, reason: str, now: datetime):
    not_found, kind = _NOT_FOUND[model]
    with transaction(session):
        entry = session.get(model, item_id, with_for_update=True)
        if entry is None:
            raise not_found(f"{kind} {item_id} does not exist")
        require_regulates(actor, session.get(Firm, entry.firm_id).area_code, areas)
        previous = change_entry_status(entry, target, at=now)
        audit.record(session, actor.audit, f"{kind}.{_past(target)}", object_type=kind, object_id=entry.id,
                     changes={"status": [previous.value, target.value], "reason": reason}, at=now)
        if previous is not target:
            action = "suspend" if target is EntryStatus.SUSPENDED else "reinstate"
            entry_status_changed.send(session, kind=kind, entry=entry, action=action, actor=actor, now=now)
    return entry


def _firm_id_for(actor: Actor, data: dict) -> int:
    firm_id = data.get("firm_id") or (actor.firm_id if actor.role is Role.FIRM else None)
    if firm_id is None:
        raise Unprocessable(fields={"firm_id": ["firm_id is required"]})
    return firm_id


def _get_firm_for_update(session: Session, firm_id: int) -> Firm:
    firm = session.get(Firm, firm_id, with_for_update=True)
    if firm is None:
        raise FirmNotFound(f"firm {firm_id} does not exist")
    return firm


def _flush_or_conflict(session: Session, conflict: Exception) -> None:
    # A concurrent insert can pass our existence check; the unique constraint is the real guard.
    # The whole transaction is rolled back by the caller, so no savepoint is needed.
    try:
        session.flush()
    except IntegrityError as e:
        raise conflict from e


def _past(action) -> str:
    return {"approve": "approved", "reject": "rejected", "revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated",
            EntryStatus.SUSPENDED: "suspended", EntryStatus.ACTIVE: "reinstated"}[action]


def export_payload(session: Session, *, now: datetime) -> bytes:
    """The approved white list as UTF-8 JSON for neighbouring cities: firms with their credit code,
    category, area and vehicle plates. No people, no contact data."""
    plates: dict[int, list[str]] = {}
    for firm_id, plate, hk_plate in session.execute(
            select(Vehicle.firm_id, Vehicle.plate, Vehicle.hk_plate).join(Firm, Firm.id == Vehicle.firm_id)
            .where(Firm.status == FirmStatus.APPROVED, Vehicle.status == EntryStatus.ACTIVE).order_by(Vehicle.id)):
        plates.setdefault(firm_id, []).extend(p for p in (plate, hk_plate) if p)
    firms = [{"uscc": f.uscc, "name": f.name, "category": f.category.value, "area_code": f.area_code,
              "plates": plates.get(f.id, [])}
             for f in session.scalars(select(Firm).where(Firm.status == FirmStatus.APPROVED).order_by(Firm.id))]
    document = {"format": "greenlane-whitelist/1", "issuer": "Shenzhen 440300",
                "issued_at": now.isoformat(timespec="seconds"), "firms": firms}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def suspend_people(session: Session, people: list[Person], *, actor: Actor, now: datetime, reason: str) -> None:
    """Suspend people on a ground established elsewhere (a positive test). Joins the caller's transaction;
    the caller has authorised the action."""
    for person in people:
        previous = change_entry_status(person, EntryStatus.SUSPENDED, at=now)
        audit.record(session, actor.audit, "person.suspended", object_type="person", object_id=person.id,
                     changes={"status": [previous.value, "suspended"], "reason": reason}, at=now)
