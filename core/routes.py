"""Core HTTP routes: areas, the trust list, the caller's account and the audit log."""
from flask import Response, current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core import accounts, area_table, audit_areas, keys
from core.accounts import SYSTEM, Role
from core.areas import AreaLevel
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.http import Blueprint, area_tree, page_of
from core.schemas import QueryArgs, Text

blp = Blueprint("core", __name__, url_prefix="/api/v1", description="Areas, keys, accounts and the audit log")
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


@blp.route("/trust-list/signed")
@blp.doc(responses={"200": {"description": "COSE_Sign1 trust list with its issue time and expiry "
                                           "(docs/pass-format.md#6-trust-list)",
                            "content": {"application/cose": {"schema": {"type": "string", "format": "binary"}}}}})
def signed_trust_list():
    """The same keys as a signed document that says how old it is, for offline devices (public)."""
    document = keys.signed_trust_list(get_session(), current_app.extensions["keyring"], actor=SYSTEM, now=utcnow(),
                                      lifetime_seconds=int(float(current_app.config["TRUST_LIST_LIFETIME_HOURS"])
                                                           * 3600))
    response = Response(document, mimetype="application/cose")
    response.cache_control.no_cache = True
    return response


class MeSiteOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String(metadata={"description": "checkpoint, crossing or relay_yard"})
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
    return accounts.describe_account(get_session(), current_actor(), find_site=current_app.extensions["find_site"])


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
