"""Relay-yard payloads."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.schemas import Id, Normalised, QueryArgs, Text
from logistics.handovers import EventType, HandoverState
from whitelist import identifiers as ids
from whitelist.models import Category


class LegIn(Schema):
    driver_id = Id(required=True)
    vehicle_id = Id(required=True)


class InboundIn(LegIn):
    container_no = Normalised(ids.validate_container_no, required=True,
                              metadata={"description": "trailer or container number, ISO 6346 check digit verified"})
    seals = fields.List(Text(validate=validate.Length(min=1, max=40)), required=True,
                        validate=validate.Length(min=1, max=10))
    sealed_by = Text(required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _distinct_seals(self, data, **kwargs):
        seals = [s.strip().upper() for s in data.get("seals", [])]
        if len(set(seals)) != len(seals):
            raise ValidationError("a seal number is listed twice", field_name="seals")


class CargoIn(Schema):
    category = fields.Enum(Category, by_value=True, required=True)
    description = Text(required=True, validate=validate.Length(min=1, max=500))
    packages = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100000))
    gross_kg = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100000))


class HandoverIn(Schema):
    yard_site_id = Id(required=True)
    crossing_site_id = Id(required=True)
    collecting_firm_id = Id(required=True, metadata={
        "description": "the approved mainland firm that collects the load (it may be the booking firm); only "
                       "that firm names or changes the outbound driver and vehicle"})
    inbound = fields.Nested(InboundIn, required=True)
    cargo = fields.Nested(CargoIn, required=True)
    outbound = fields.Nested(LegIn, allow_none=True, metadata={
        "description": "a driver and vehicle of the booking or the collecting firm; may be named later by the "
                       "collecting firm"})


class EventIn(Schema):
    type = fields.Enum(EventType, by_value=True, required=True)
    seals_seen = fields.List(Text(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=10))
    reason = Text(validate=validate.Length(min=1, max=500))
    at = fields.AwareDateTime(metadata={"description": "when it happened; default now"})
    qr = fields.String(validate=validate.Length(min=1, max=8192),
                       metadata={"description": "the driver's pass QR text (arrived, collected)"})
    client_event_id = Text(validate=validate.Length(min=1, max=64), metadata={
        "description": "chosen by the recording device (e.g. a UUID); the same step sent again with the same id "
                       "is recorded once and answered with the load as it is"})


class OutboundOut(Schema):
    driver_id = fields.Integer(allow_none=True)
    vehicle_id = fields.Integer(allow_none=True)


class InboundOut(Schema):
    driver_id = fields.Integer()
    vehicle_id = fields.Integer()
    container_no = fields.String()
    seals = fields.List(fields.String())
    sealed_by = fields.String()


class CargoOut(Schema):
    category = fields.String()
    description = fields.String()
    packages = fields.Integer()
    gross_kg = fields.Integer()


class HandoverEventOut(Schema):
    seq = fields.Integer()
    type = fields.Enum(EventType, by_value=True)
    at = fields.AwareDateTime()
    site_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    state_after = fields.Enum(HandoverState, by_value=True)
    data = fields.Dict()


class PlatesOut(Schema):
    inbound = fields.String()
    inbound_hk = fields.String(allow_none=True)
    outbound = fields.String(allow_none=True)


class FirmsOut(Schema):
    inbound = fields.String()
    outbound = fields.String(allow_none=True)


class SealCheckOut(Schema):
    seen = fields.List(fields.String())
    missing = fields.List(fields.String(), metadata={"description": "booked seals not seen"})
    unexpected = fields.List(fields.String(), metadata={"description": "seals seen that were not booked"})


class StationFields(Schema):
    """What the yard station shows of a load besides its own fields."""

    plates = fields.Nested(PlatesOut)
    firms = fields.Nested(FirmsOut)
    state_since = fields.AwareDateTime(metadata={"description": "when the load entered its current state"})
    allowed = fields.List(fields.String(), metadata={"description": "the events the state machine allows now"})
    seal_check = fields.Nested(SealCheckOut, allow_none=True, metadata={"description": "the last seal check"})


class HandoverOut(StationFields):
    id = fields.Integer()
    yard_site_id = fields.Integer()
    crossing_site_id = fields.Integer()
    collecting_firm_id = fields.Integer(attribute="outbound_firm_id", allow_none=True,
                                        metadata={"description": "the firm that collects the load"})
    inbound = fields.Nested(InboundOut)
    cargo = fields.Nested(CargoOut)
    outbound = fields.Nested(OutboundOut)
    state = fields.Enum(HandoverState, by_value=True)
    booked_at = fields.AwareDateTime()
    arrived_at = fields.AwareDateTime(allow_none=True)
    dropped_at = fields.AwareDateTime(allow_none=True)
    inbound_departed_at = fields.AwareDateTime(allow_none=True)
    collected_at = fields.AwareDateTime(allow_none=True)
    return_due_at = fields.AwareDateTime(allow_none=True)
    returned_at = fields.AwareDateTime(allow_none=True)
    events = fields.List(fields.Nested(HandoverEventOut))


class HandoverQueryArgs(QueryArgs):
    yard = Id()
    state = fields.Enum(HandoverState, by_value=True)
    day = fields.Date(metadata={"description": "booking day (China time), YYYY-MM-DD"})


class CustodyEventOut(Schema):
    seq = fields.Integer()
    type = fields.String()
    at = fields.String()
    site_id = fields.Integer(allow_none=True)
    site = fields.String(allow_none=True, metadata={"description": "the site's name"})
    actor = fields.String()
    state_after = fields.String()
    data = fields.Dict()
    audit_seq = fields.Integer()
    audit_hash = fields.String()


class CustodyOut(Schema):
    handover_id = fields.Integer()
    container_no = fields.String()
    seals = fields.List(fields.String())
    state = fields.String()
    events = fields.List(fields.Nested(CustodyEventOut))


class BoardYardOut(Schema):
    id = fields.Integer()
    name = fields.String()
    capacity = fields.Integer(allow_none=True)
    area_code = fields.String()


class BoardCardOut(StationFields):
    """One load on the board; every time is RFC 3339, like everywhere else in the API."""

    id = fields.Integer()
    seals = fields.List(fields.String())
    cargo = fields.Nested(CargoOut)
    overdue_minutes = fields.Integer(allow_none=True, metadata={
        "description": "minutes since the inbound driver was due to scan out at the crossing, if overdue"})
    state = fields.Enum(HandoverState, by_value=True)
    container_no = fields.String()
    booked_at = fields.AwareDateTime()
    arrived_at = fields.AwareDateTime(allow_none=True)
    return_due_at = fields.AwareDateTime(allow_none=True)


class DwellOut(Schema):
    count = fields.Integer()
    median = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True)


class BoardOut(Schema):
    yard = fields.Nested(BoardYardOut)
    waiting = fields.List(fields.Nested(BoardCardOut))
    held = fields.List(fields.Nested(BoardCardOut))
    in_progress = fields.List(fields.Nested(BoardCardOut))
    occupancy = fields.Integer()
    capacity = fields.Integer(allow_none=True)
    occupancy_ratio = fields.Float(allow_none=True)
    dwell_minutes = fields.Nested(DwellOut)
    overdue_returns = fields.List(fields.Nested(BoardCardOut))
    generated_at = fields.AwareDateTime()
