"""Core HTTP routes: areas, sites, the trust list, alerts and the audit log."""
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from core import accounts, alerts, area_table, audit_areas, keys, sites
from core.accounts import Role
from core.alerts import AlertKind
from core.areas import AreaLevel
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.http import area_tree, page_of
from core.schemas import QueryArgs, Text
from core.sites import SiteKind

blp = Blueprint("core", __name__, url_prefix="/api/v1", description="Areas, sites, keys, alerts and the audit log")
BEARER = [{"bearer": []}]


class AreaOut(Schema):
    code = fields.String()
    level = fields.Enum(AreaLevel, by_value=True)
    name_zh = fields.String()
    name_en = fields.String()
    parent_code = fields.String(allow_none=True)


class AreaQueryArgs(QueryArgs):
    paged = False  # the area list is not paged: `page` there is an unknown parameter
    parent = Text(validate=validate.Length(max=12), metadata={"description": "children of this code"})
    level = fields.Enum(AreaLevel, by_value=True)


class AuditQueryArgs(QueryArgs):
    object_type = Text(validate=validate.Length(max=32))
    object_id = Text(validate=validate.Length(max=64))
    action = Text(validate=validate.Length(max=64))


class AuditEntryOut(Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    actor_role = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    changes = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


@blp.route("/areas")
class Areas(MethodView):
    @blp.arguments(AreaQueryArgs, location="query")
    @blp.response(200, AreaOut(many=True))
    def get(self, args):
        """List areas (public), optionally the children of one area or one level."""
        return area_table.list_areas(get_session(), parent=args.get("parent"), level=args.get("level"))


@blp.route("/areas/<string(maxlength=12):code>")
class AreaItem(MethodView):
    @blp.response(200, AreaOut)
    def get(self, code):
        """One area (public)."""
        return area_table.get_area(get_session(), code)


class TrustedKeyOut(Schema):
    kid = fields.String(metadata={"description": "base64url of the 8-byte key id"})
    kty = fields.String()
    crv = fields.String()
    x = fields.String(metadata={"description": "base64url of the raw Ed25519 public key"})
    status = fields.String(metadata={"description": "active, retired or revoked"})
    not_before = fields.AwareDateTime()
    not_after = fields.AwareDateTime(allow_none=True)


class TrustListOut(Schema):
    keys = fields.List(fields.Nested(TrustedKeyOut))


@blp.route("/trust-list")
class TrustList(MethodView):
    @blp.response(200, TrustListOut)
    def get(self):
        """Public keys that sign passes, status lists and exports, with their status (public)."""
        return {"keys": [keys.trust_list_entry(k) for k in keys.list_keys(get_session())]}


class MeSiteOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(SiteKind, by_value=True)
    area_code = fields.String()
    lat = fields.Float()
    lon = fields.Float()


class MeOut(Schema):
    account_id = fields.Integer()
    name = fields.String()
    role = fields.Enum(Role, by_value=True)
    area_code = fields.String(allow_none=True)
    firm_id = fields.Integer(allow_none=True)
    site_id = fields.Integer(allow_none=True)
    site = fields.Nested(MeSiteOut, allow_none=True)


@blp.route("/me")
@require_role(*Role)
@blp.response(200, MeOut)
@blp.doc(security=BEARER)
def me():
    """The caller's account and what it is bound to (area, firm, or site with its area code)."""
    return accounts.describe_account(get_session(), current_actor())


@blp.route("/audit")
class Audit(MethodView):
    @require_role(Role.AUDITOR, Role.REGULATOR, Role.ADMIN)
    @blp.arguments(AuditQueryArgs, location="query")
    @blp.response(200, AuditEntryOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """The audit log, newest first, filtered by object or action.

        Auditors and admins read every entry; a regulator reads the entries about objects in its own area
        (firms, their people and vehicles, passes by scope, handovers by yard, sites, area risk levels)."""
        items, total = audit_areas.list_visible_entries(
            get_session(), actor=current_actor(), areas=area_tree(), resolvers=current_app.extensions["audit_areas"],
            filters=args, page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


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


@blp.route("/sites")
class Sites(MethodView):
    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(SiteIn)
    @blp.response(201, SiteOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Add a checkpoint, crossing or relay yard in an area you regulate."""
        return sites.create_site(get_session(), data=data, actor=current_actor(), areas=area_tree(), now=utcnow())

    @require_role(Role.REGULATOR, Role.ADMIN, Role.AUDITOR)
    @blp.arguments(SiteQueryArgs, location="query")
    @blp.response(200, SiteOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        items, total = sites.list_sites(get_session(), actor=current_actor(), areas=area_tree(), kind=args.get("kind"),
                                        area=args.get("area"), page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route("/sites/<int(max=2147483647):site_id>")
class SiteItem(MethodView):
    @require_role(Role.REGULATOR, Role.ADMIN, Role.AUDITOR, Role.OFFICER, Role.YARD)
    @blp.response(200, SiteOut)
    @blp.doc(security=BEARER)
    def get(self, site_id):
        return sites.get_site(get_session(), site_id)

    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(SiteUpdateIn)
    @blp.response(200, SiteOut)
    @blp.doc(security=BEARER)
    def patch(self, data, site_id):
        """Change a site's name, position, capacity or whether it is in use."""
        return sites.update_site(get_session(), site_id, data=data, actor=current_actor(), areas=area_tree(),
                                 now=utcnow())


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


@blp.route("/alerts")
class Alerts(MethodView):
    @require_role(Role.REGULATOR, Role.ADMIN, Role.AUDITOR)
    @blp.arguments(AlertQueryArgs, location="query")
    @blp.response(200, AlertOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """Suspected clones, seal mismatches, held loads and overdue returns in the caller's area."""
        items, total = alerts.list_alerts(get_session(), actor=current_actor(), areas=area_tree(),
                                          kind=args.get("kind"), open_only=args["open"],
                                          page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route("/alerts/<int(max=2147483647):alert_id>/acknowledge", methods=["POST"])
@require_role(Role.REGULATOR, Role.ADMIN)
@blp.response(200, AlertOut)
@blp.doc(security=BEARER)
def acknowledge_alert(alert_id):
    return alerts.acknowledge_alert(get_session(), alert_id, actor=current_actor(), areas=area_tree(), now=utcnow())
