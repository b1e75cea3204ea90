"""Checkpoint payloads: sites, alerts, risk levels, policy, health tests, scans."""
from marshmallow import Schema, fields, validate

from core.schemas import Id, QueryArgs, Text
from checkpoints.models import AlertKind, SiteKind, TestResult
from passes.policy import RiskLevel
from whitelist.models import IdType
from whitelist.schemas import IdNumberChecked

LEVELS = [level.label for level in RiskLevel]


class RiskIn(Schema):
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    reason = Text(required=True, validate=validate.Length(min=1, max=500))


class RiskOut(Schema):
    area_code = fields.String()
    level = fields.String(attribute="level_label")
    reason = fields.String()
    set_at = fields.AwareDateTime()
    set_by = fields.String()


class PolicyIn(Schema):
    max_test_age_hours = fields.Dict(keys=fields.String(validate=validate.OneOf(LEVELS)),
                                     values=fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 30)),
                                     required=True, metadata={"description": "hours per risk level"})
    tests_required = fields.Boolean(load_default=True,
                                    metadata={"description": "false for emergencies without an epidemic"})


class PolicyOut(Schema):
    max_test_age_hours = fields.Dict(keys=fields.String(), values=fields.Integer())
    tests_required = fields.Boolean()
    risk = fields.Dict(keys=fields.String(), values=fields.String(),
                       metadata={"description": "areas whose level is not normal"})
    version = fields.Integer()


class HealthTestIn(IdNumberChecked):
    id_type = fields.Enum(IdType, by_value=True, required=True)
    id_number = Text(required=True, validate=validate.Length(min=1, max=40), load_only=True)
    sampled_at = fields.AwareDateTime(required=True)
    result = fields.Enum(TestResult, by_value=True, required=True)
    lab = Text(required=True, validate=validate.Length(min=1, max=200))


class HealthTestsOut(Schema):
    recorded = fields.Integer()
    people_suspended = fields.List(fields.Integer())
    passes_suspended = fields.List(fields.String())


class ScanIn(Schema):
    qr = fields.String(required=True, validate=validate.Length(min=1, max=8192),
                       metadata={"description": "the scanned text, GL1:…"})
    plate_seen = Text(validate=validate.Length(min=1, max=32), allow_none=True)
    scanned_at = fields.AwareDateTime(allow_none=True, metadata={"description": (
        "when the device scanned (default: now). Refused with a 422 scan_time_out_of_bounds when more than "
        "GREENLANE_MAX_SCAN_AGE_HOURS (72) old, more than 5 minutes ahead of the server, or before the pass "
        "was issued: the device should then drop the scan from its queue")})
    client_scan_id = Text(validate=validate.Length(min=1, max=64), allow_none=True,
                          metadata={"description": "the device's id for this scan; repeats return the first answer"})


class ScanPassOut(Schema):
    id = fields.String()
    plate = fields.String()
    hk_plate = fields.String(allow_none=True)
    scope = fields.List(fields.Dict())
    valid_until = fields.AwareDateTime()
    firm = fields.String()
    drivers = fields.List(fields.Dict(), metadata={"description": "name and masked identity number"})


class ScanOut(Schema):
    scan_id = fields.Integer()
    client_scan_id = fields.String(allow_none=True)
    site_id = fields.Integer()
    scanned_at = fields.AwareDateTime(metadata={"description": "the scan time the device claimed"})
    received_at = fields.AwareDateTime(metadata={"description": "when the server received the scan"})
    verdict = fields.String(metadata={"description": "accept or reject"})
    reasons = fields.List(fields.String())
    pass_ = fields.Nested(ScanPassOut, data_key="pass", attribute="pass", allow_none=True)


class ScanRecordOut(Schema):
    id = fields.Integer()
    site_id = fields.Integer()
    pass_id = fields.String(allow_none=True)
    serial = fields.Integer(allow_none=True)
    plate_seen = fields.String(allow_none=True)
    scanned_at = fields.AwareDateTime(metadata={"description": "the scan time the device claimed"})
    received_at = fields.AwareDateTime(metadata={"description": "when the server received the scan"})
    verdict = fields.String()
    reasons = fields.List(fields.String())


class ScanQueryArgs(QueryArgs):
    pass_id = Text(validate=validate.Length(max=16))
    site_id = Id()
    from_ = fields.AwareDateTime(data_key="from", attribute="from")
    to = fields.AwareDateTime()


class SiteIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.Enum(SiteKind, by_value=True, required=True)
    area_code = Text(required=True, validate=validate.Length(min=6, max=12))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100000))


class SiteUpdateIn(Schema):
    name = Text(validate=validate.Length(min=1, max=200))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=100000))
    active = fields.Boolean()


class SiteOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(SiteKind, by_value=True)
    area_code = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    capacity = fields.Integer(allow_none=True)
    ref_code = fields.String(allow_none=True)
    active = fields.Boolean()


class SiteQueryArgs(QueryArgs):
    kind = fields.Enum(SiteKind, by_value=True)
    area = Text(validate=validate.Length(max=12))


class AlertOut(Schema):
    id = fields.Integer()
    kind = fields.Enum(AlertKind, by_value=True)
    area_code = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    details = fields.Dict()
    raised_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)


class AlertQueryArgs(QueryArgs):
    kind = fields.Enum(AlertKind, by_value=True)
    open = fields.Boolean(load_default=False, metadata={"description": "only alerts not yet acknowledged"})
