"""White-list payloads: input checks shape and identifier syntax; output masks personal data."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from core.accounts import FirmRole
from core.passwords import MAX_PASSWORD_LENGTH, normalise_username, password_problems
from core.schemas import Id, Normalised, QueryArgs, Text
from whitelist import identifiers as ids
from whitelist.models import Category, EntryStatus, FirmStatus, IdType, PersonKind, VehicleKind

_text = validate.Length(min=1, max=200)


class FirmIn(Schema):
    name = Text(required=True, validate=_text)
    uscc = Normalised(ids.validate_uscc, required=True,
                      metadata={"description": "unified social credit code (18 chars, check digits verified)"})
    category = fields.Enum(Category, by_value=True, required=True)
    area_code = Text(required=True, validate=validate.Length(min=6, max=12),
                              metadata={"description": "district (6 digits) or street (9 digits)"})
    address = Text(required=True, validate=validate.Length(min=1, max=300))
    contact_name = Text(required=True, validate=validate.Length(min=1, max=100))
    contact_phone = Normalised(ids.validate_phone, required=True)
    username = Normalised(normalise_username, metadata={
        "description": "optional: the user name of the firm's first web user (its manager), case-insensitive; "
                       "given with `password`. A taken name is a 409 and nothing is registered"})
    password = fields.String(load_only=True, validate=validate.Length(max=MAX_PASSWORD_LENGTH), metadata={
        "description": "optional, with `username`: at least 10 characters, not the user name; stored only as "
                       "an Argon2id hash"})

    @validates_schema
    def _credentials_go_together(self, data, **kwargs):
        check_credentials_in(data, required=False)


def check_credentials_in(data: dict, *, required: bool) -> None:
    """A user name and a password come together, and the password follows the rules (core.passwords)."""
    username, password = data.get("username"), data.get("password")
    if not required and username is None and password is None:
        return
    if username is None:
        raise ValidationError({"username": ["give a user name with the password"]})
    if password is None:
        raise ValidationError({"password": ["give a password with the user name"]})
    problems = password_problems(password, username=username)
    if problems:
        raise ValidationError({"password": problems})


class FirmUserIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=128))
    username = Normalised(normalise_username, required=True,
                          metadata={"description": "3-64 letters, digits, '.', '_', '@', '-'; case-insensitive"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=MAX_PASSWORD_LENGTH),
                             metadata={"description": "at least 10 characters, not the user name"})
    firm_role = fields.Enum(FirmRole, by_value=True, required=True,
                            metadata={"description": "manager (also adds and revokes colleagues) or clerk"})

    @validates_schema(skip_on_field_errors=False)  # password rules shown beside other fields' errors
    def _password_rules(self, data, **kwargs):
        if "username" in data and "password" in data:
            check_credentials_in(data, required=True)


class FirmUserOut(Schema):
    id = fields.Integer()
    name = fields.String()
    username = fields.String(allow_none=True)
    firm_role = fields.Enum(FirmRole, by_value=True, allow_none=True)
    firm_id = fields.Integer()
    has_token = fields.Boolean(metadata={"description": "whether the account also holds an API token"})
    second_factor = fields.Boolean(metadata={"description": "whether a TOTP second factor is enrolled"})
    created_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)


class FirmOut(Schema):
    id = fields.Integer()
    name = fields.String()
    uscc = fields.String()
    category = fields.Enum(Category, by_value=True)
    area_code = fields.String()
    address = fields.String()
    contact_name = fields.String()
    contact_phone = fields.String(attribute="contact_phone_masked", metadata={"description": "masked"})
    status = fields.Enum(FirmStatus, by_value=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class FirmRegisteredOut(FirmOut):
    account_token = fields.String(metadata={"description": "the firm account's API token; shown only once"})


class FirmQueryArgs(QueryArgs):
    status = fields.Enum(FirmStatus, by_value=True)
    category = fields.Enum(Category, by_value=True)
    area = Text(metadata={"description": "area code; includes every area below it"})
    q = Text(validate=validate.Length(min=1, max=100),
                      metadata={"description": "text in the name, or a credit code"})


class PublicFirmOut(Schema):
    id = fields.Integer()
    name = fields.String()
    uscc = fields.String()
    category = fields.Enum(Category, by_value=True)
    area_code = fields.String()
    area_name_zh = fields.String()
    area_name_en = fields.String()


class IdNumberChecked(Schema):
    """Validates id_number against id_type (check digits where they exist) and keeps the normalised form."""

    @validates_schema(skip_on_field_errors=False)  # a bad number is reported with the other fields' errors
    def _check_id_number(self, data, **kwargs):
        if "id_type" in data and "id_number" in data:
            try:
                data["id_number"] = ids.validate_id_number(data["id_type"].value, data["id_number"])
            except ValueError as e:
                raise ValidationError(str(e), field_name="id_number") from e


class PersonIn(IdNumberChecked):
    firm_id = Id(metadata={"description": "defaults to the caller's firm for firm accounts"})
    kind = fields.Enum(PersonKind, by_value=True, required=True)
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    id_type = fields.Enum(IdType, by_value=True, required=True)
    id_number = Text(required=True, validate=validate.Length(min=1, max=40), load_only=True)
    phone = Normalised(ids.validate_phone, required=True)


class PersonUpdateIn(Schema):
    """What can be corrected of a person: the name and the phone. A new identity is a new person."""

    name = Text(validate=validate.Length(min=1, max=100))
    phone = Normalised(ids.validate_phone)

    @validates_schema
    def _something_to_change(self, data, **kwargs):
        if not data:
            raise ValidationError("give name or phone", field_name="name")


class PersonOut(Schema):
    id = fields.Integer()
    firm_id = fields.Integer()
    kind = fields.Enum(PersonKind, by_value=True)
    name = fields.String()
    id_type = fields.Enum(IdType, by_value=True)
    id_number = fields.String(attribute="id_masked", metadata={"description": "masked"})
    phone = fields.String(attribute="phone_masked", metadata={"description": "masked"})
    status = fields.Enum(EntryStatus, by_value=True)
    created_at = fields.AwareDateTime()


class PersonQueryArgs(QueryArgs):
    firm_id = Id()
    kind = fields.Enum(PersonKind, by_value=True)
    status = fields.Enum(EntryStatus, by_value=True)
    id_type = fields.Enum(IdType, by_value=True)
    id_number = Text(validate=validate.Length(min=1, max=40),
                              metadata={"description": "exact match (needs id_type); searched by keyed hash"})
    q = Text(validate=validate.Length(min=1, max=100),
             metadata={"description": "part of the name, or the last 1-4 characters of the identity number"})

    @validates_schema
    def _needs_type(self, data, **kwargs):
        if "id_number" in data and "id_type" not in data:
            raise ValidationError("give id_type with id_number", field_name="id_type")


class VehicleIn(Schema):
    firm_id = Id(metadata={"description": "defaults to the caller's firm for firm accounts"})
    plate = Normalised(ids.validate_plate, required=True,
                       metadata={"description": "mainland (粤B12345, 粤BD12345, 粤Z1234港) or Hong Kong mark"})
    hk_plate = Normalised(ids.validate_hk_plate, allow_none=True,
                          metadata={"description": "Hong Kong mark of a cross-border vehicle"})
    kind = fields.Enum(VehicleKind, by_value=True, required=True)

    @validates_schema
    def _cross_border_needs_hk_plate(self, data, **kwargs):
        plate = data.get("plate")
        if plate and ids.classify_mainland_plate(plate) == "cross_border" and not data.get("hk_plate"):
            raise ValidationError("a cross-border (粤Z…港/澳) vehicle also needs its Hong Kong mark",
                                  field_name="hk_plate")


class VehicleCsvRowIn(VehicleIn):
    """One row of a vehicle import: as VehicleIn, with an empty Hong Kong mark meaning none."""

    @pre_load
    def _blank_hk_plate_is_none(self, data, **kwargs):
        return {**data, "hk_plate": data.get("hk_plate") or None}


class VehicleUpdateIn(Schema):
    """What can be corrected of a vehicle: its kind. Its plates are its identity (printed on its passes)."""

    kind = fields.Enum(VehicleKind, by_value=True, required=True)


class VehicleOut(Schema):
    id = fields.Integer()
    firm_id = fields.Integer()
    plate = fields.String()
    hk_plate = fields.String(allow_none=True)
    kind = fields.Enum(VehicleKind, by_value=True)
    status = fields.Enum(EntryStatus, by_value=True)
    created_at = fields.AwareDateTime()


class VehicleQueryArgs(QueryArgs):
    firm_id = Id()
    status = fields.Enum(EntryStatus, by_value=True)
    plate = Text(validate=validate.Length(min=1, max=20))
    q = Text(validate=validate.Length(min=1, max=20), metadata={"description": "part of a plate or Hong Kong mark"})


class ImportResultOut(Schema):
    imported = fields.Integer()
    first_id = fields.Integer(allow_none=True)
    last_id = fields.Integer(allow_none=True)
