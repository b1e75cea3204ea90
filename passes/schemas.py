"""Pass payloads."""
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.schemas import Id, Normalised, QueryArgs, Text
from passes.models import PassStatus
from passes.rules import QUEUE_AGES, AreaMode
from whitelist import identifiers as ids
from whitelist.models import Category


class RouteIn(Schema):
    crossing_site_id = Id(required=True)
    yard_site_id = Id(required=True)


class PassIn(Schema):
    vehicle_id = Id(required=True)
    driver_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=4))
    category = fields.Enum(Category, by_value=True, required=True)
    scope = fields.List(Text(validate=validate.Regexp(r"^\d{6}(\d{3})?$", error="an area code has 6 or 9 digits")),
                        required=True, validate=validate.Length(min=1, max=20),
                        metadata={"description": "area codes the pass is good in (city, district or street)"})
    valid_from = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with offset"})
    valid_until = fields.AwareDateTime(required=True)
    purpose = Text(required=True, validate=validate.Length(min=1, max=500))
    route = fields.Nested(RouteIn, allow_none=True,
                          metadata={"description": "cross-border drivers: crossing site → relay-yard site"})

    @validates_schema
    def _distinct_drivers(self, data, **kwargs):
        if len(set(data.get("driver_ids", []))) != len(data.get("driver_ids", [])):
            raise ValidationError("a driver is listed twice", field_name="driver_ids")


class RouteOut(Schema):
    crossing_site_id = fields.Integer()
    yard_site_id = fields.Integer()


class PassOut(Schema):
    id = fields.String()
    firm_id = fields.Integer()
    vehicle_id = fields.Integer()
    plate = fields.String()
    hk_plate = fields.String(allow_none=True)
    driver_ids = fields.List(fields.Integer())
    category = fields.Enum(Category, by_value=True)
    scope = fields.List(fields.String())
    valid_from = fields.AwareDateTime()
    valid_until = fields.AwareDateTime()
    purpose = fields.String()
    route = fields.Nested(RouteOut, allow_none=True)
    status = fields.Enum(PassStatus, by_value=True, attribute="reported_status",
                         metadata={"description": "expired is reported for an active pass past valid_until"})
    reason = fields.String(allow_none=True)
    serial = fields.Integer(allow_none=True)
    qr = fields.String(allow_none=True, metadata={"description": "the QR text (GL1:…), once approved"})
    kid = fields.String(attribute="kid_b64", allow_none=True, metadata={"description": "base64url id of the signing key"})
    created_at = fields.AwareDateTime()
    approved_at = fields.AwareDateTime(allow_none=True)


PASS_SORTS = ("-created_at", "created_at", "valid_from", "-valid_from", "valid_until", "-valid_until")


class PassQueryArgs(QueryArgs):
    status = fields.Enum(PassStatus, by_value=True)
    firm = Id(metadata={"description": "firm id"})
    area = Text(validate=validate.Length(max=12), metadata={"description": (
        "area code. With area_mode=touches (the default) a pass is listed when one of its scope areas is "
        "this area, lies inside it, or contains it (a city-wide pass touches every street); with "
        "area_mode=within only when every scope area is this area or lies inside it. An unknown code "
        "matches nothing.")})
    area_mode = fields.Enum(AreaMode, by_value=True, load_default=AreaMode.TOUCHES, metadata={
        "description": "how `area` matches: touches (default) or within; see `area`"})
    category = fields.Enum(Category, by_value=True)
    plate = Normalised(ids.normalise_plate, validate=validate.Length(min=1, max=20), metadata={
        "description": "mainland plate or Hong Kong mark, normalised as on registration "
                       "(spaces, middle dots and full-width characters do not matter)"})
    valid_at = fields.AwareDateTime(metadata={
        "description": "RFC 3339 instant with offset: passes whose window holds it "
                       "(valid_from ≤ valid_at < valid_until), whatever their status"})
    created_before = fields.AwareDateTime(metadata={
        "description": "RFC 3339 instant with offset: passes applied for before it (the console's "
                       "\"waiting longer than 2 h\" is created_before = now − 2 h)"})
    sort = Text(load_default="-created_at", validate=validate.OneOf(PASS_SORTS), metadata={
        "description": "order of the list; a leading - sorts descending. Default: newest first"})


class QueueArgs(QueryArgs):
    """The console queue's filters: a district or one of its streets, category, firm, waiting time (hours)."""

    district = Text(validate=validate.Regexp(r"^\d{6}$", error="a district code has 6 digits"))
    street = Text(validate=validate.Regexp(r"^\d{9}$", error="a street code has 9 digits"))
    category = fields.Enum(Category, by_value=True)
    firm = Id()
    older_than = fields.Integer(strict=False, validate=validate.OneOf(QUEUE_AGES),
                                metadata={"description": "hours waited, at least"})


# ---- fleet applications (POST /passes/batch) -------------------------------------------------------

class Separated(Text):
    """A cell holding several values split by any of `separators`; each value goes through `item`."""

    def __init__(self, separators: str, item: fields.Field, *, count: validate.Length, **kwargs):
        super().__init__(**kwargs)
        self._split, self._item, self._count = re.compile(f"[{re.escape(separators)}]+"), item, count

    def _deserialize(self, value, attr, data, **kwargs):
        parts = [p for p in self._split.split(super()._deserialize(value, attr, data, **kwargs)) if p]
        self._count(parts)
        return [self._item.deserialize(p) for p in parts]


SCOPE_CODE = validate.Regexp(r"^\d{6}(\d{3})?$", error="an area code has 6 or 9 digits")


class FleetCsvRowIn(Schema):
    """One line of a fleet application CSV; the plate and identity numbers are resolved by the service."""

    plate = Normalised(ids.normalise_plate, required=True, validate=validate.Length(min=1, max=20))
    driver_id_numbers = Separated(";|", Text(validate=validate.Length(min=1, max=40)), required=True,
                                  count=validate.Length(min=1, max=4, error="between 1 and 4 drivers"))
    category = fields.Enum(Category, by_value=True, required=True)
    scope = Separated("; \t", Text(validate=SCOPE_CODE), required=True,
                      count=validate.Length(min=1, max=20, error="between 1 and 20 area codes"))
    valid_from = fields.AwareDateTime(required=True)
    valid_until = fields.AwareDateTime(required=True)
    purpose = Text(required=True, validate=validate.Length(min=1, max=500))


class BatchArgs(QueryArgs):
    paged = False
    firm_id = Id(metadata={"description": "the firm applied for: required for regulators and admins, "
                                          "a firm account applies for itself"})


class SheetArgs(QueryArgs):
    paged = False
    ids = Separated(",", Text(validate=validate.Length(equal=8, error="a pass id has 8 characters")), required=True,
                    count=validate.Length(min=1, max=200, error="between 1 and 200 pass ids"),
                    metadata={"description": "pass ids separated by commas"})
    per_page = fields.Integer(load_default=2, validate=validate.OneOf((1, 2)),
                              metadata={"description": "passes per A4 page: 1 or 2"})


# ---- bulk decisions (POST /passes/decisions) -------------------------------------------------------

class DecisionFilterIn(PassQueryArgs):
    """The filters of GET /passes, as a JSON object (no paging: every matching pass is decided)."""

    paged = False


class DecisionsIn(Schema):
    ids = fields.List(Text(validate=validate.Length(min=1, max=16)), validate=validate.Length(min=1, max=50_000),
                      metadata={"description": "the passes to decide; give ids or filter, not both"})
    filter = fields.Nested(DecisionFilterIn, metadata={
        "description": "the same filters as GET /passes: every matching pass you can see is decided"})
    action = fields.String(required=True, validate=validate.OneOf(["approve", "reject"]))
    reason = Text(validate=validate.Length(max=500), metadata={
        "description": "required to reject (the firm reads it); kept in the audit log"})
    confirm = fields.Boolean(load_default=False, metadata={
        "description": "false (default): if any pass cannot be decided, nothing changes (409 listing them); "
                       "true: decide the others and list the refused ones with their reasons"})

    @validates_schema
    def _one_selection(self, data, **kwargs):
        if ("ids" in data) == ("filter" in data):
            raise ValidationError("give either ids or filter", field_name="ids")
        if data["action"] == "reject" and not (data.get("reason") or "").strip():
            raise ValidationError("a rejection needs a reason the firm can read", field_name="reason")


class DecisionOut(Schema):
    id = fields.String()
    outcome = fields.String(metadata={"description": "approved, rejected or refused"})
    reason = fields.String(allow_none=True, metadata={"description": "why a pass was refused"})
    serial = fields.Integer(allow_none=True, metadata={"description": "the serial of an approved pass"})


class DecisionsOut(Schema):
    items = fields.List(fields.Nested(DecisionOut))
    approved = fields.Integer()
    rejected = fields.Integer()
    refused = fields.Integer()
