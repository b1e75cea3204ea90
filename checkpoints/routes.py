"""Checkpoint HTTP routes: sites, alerts, risk zones, policy and its bundle, the status list, health tests,
scans and route checkpoints."""
from datetime import timedelta

from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from core.accounts import SYSTEM, Role
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.errors import UnsupportedMediaType
from core.schemas import Id
from core.http import Blueprint, area_tree, page_of, pii_cipher
from checkpoints import alerts, health, sites
from checkpoints import services as checkpoints
from checkpoints import status_list as status_list_service
from checkpoints.schemas import (AlertOut, AlertQueryArgs, HealthTestIn, HealthTestsOut, PolicyIn, PolicyOut, RiskIn,
                                 RiskOut, ScanIn, ScanOut, ScanQueryArgs, ScanRecordOut, SiteIn, SiteOut, SiteQueryArgs,
                                 SiteUpdateIn)
from passes.policy import RiskLevel

blp = Blueprint("checkpoints", __name__, url_prefix="/api/v1", description="Sites, alerts, risk zones, policy, status list, health tests, scans")
BEARER = [{"bearer": []}]
AREA = "<string(maxlength=12):code>"
COSE = "application/cose"


def _cache() -> dict:
    return current_app.extensions["signed_cache"]


def _lifetime(setting: str) -> timedelta:
    return timedelta(hours=float(current_app.config[setting]))


@blp.route(f"/areas/{AREA}/risk")
class AreaRiskLevel(MethodView):
    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(RiskIn)
    @blp.response(200, RiskOut)
    @blp.doc(security=BEARER)
    def put(self, data, code):
        """Set an area's risk level: normal, precaution, controlled or sealed (regulator of the area)."""
        return checkpoints.set_area_risk(get_session(), code, level=RiskLevel.parse(data["level"]),
                                         reason=data["reason"], actor=current_actor(), areas=area_tree(), now=utcnow())

    @blp.response(200, RiskOut(many=True))
    def get(self, code):
        """The area's risk history, newest first (public)."""
        return checkpoints.risk_history(get_session(), code)


@blp.route("/policy")
class PolicyResource(MethodView):
    @blp.response(200, PolicyOut)
    def get(self):
        """Maximum age of a negative test per risk level, and the areas that are not normal (public)."""
        return _policy_out(checkpoints.current_policy(get_session(), areas=area_tree(), cache=_cache(), now=utcnow()))

    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(PolicyIn)
    @blp.response(200, PolicyOut)
    @blp.doc(security=BEARER)
    def put(self, data):
        """Set the test rules (city regulator). Levels left out keep their defaults."""
        session = get_session()
        checkpoints.update_policy(session, max_test_age_hours={RiskLevel.parse(k): v for k, v in
                                                               data["max_test_age_hours"].items()},
                                  tests_required=data["tests_required"], actor=current_actor(), now=utcnow())
        return _policy_out(checkpoints.current_policy(session, areas=area_tree(), cache=_cache(), now=utcnow()))


def _policy_out(policy) -> dict:
    return {"max_test_age_hours": {level.label: hours for level, hours in policy.max_test_age_hours.items()},
            "tests_required": policy.tests_required, "version": policy.version,
            "risk": {code: level.label for code, level in policy.risk.items()}}


@blp.route("/policy-bundle")
@blp.doc(responses={"200": {"description": "COSE_Sign1 policy bundle (docs/pass-format.md#10-policy-bundle)",
                            "content": {COSE: {"schema": {"type": "string", "format": "binary"}}}}})
def policy_bundle():
    """Signed risk levels by area, the area tree and the test rules, for offline verification (public)."""
    version, document = checkpoints.signed_policy_bundle(get_session(), areas=area_tree(), ring=current_app.extensions[
        "keyring"], cache=_cache(), actor=SYSTEM, now=utcnow(), lifetime=_lifetime("POLICY_BUNDLE_LIFETIME_HOURS"))
    response = Response(document, mimetype=COSE)
    response.set_etag(f"pb-{version}-{document[-8:].hex()}")
    return response.make_conditional(request)


@blp.route("/health-tests", methods=["POST"])
@require_role(Role.HEALTH)
@blp.arguments(HealthTestIn)
@blp.response(201, HealthTestsOut)
@blp.doc(security=BEARER)
def post_health_test(data):
    """Record one result. A positive result suspends the person and every active pass they drive."""
    return health.record_tests(get_session(), [data], actor=current_actor(), cipher=pii_cipher(), now=utcnow())


@blp.route("/health-tests/import", methods=["POST"])
@require_role(Role.HEALTH)
@blp.response(201, HealthTestsOut)
@blp.doc(security=BEARER, requestBody={"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "example": "id_type,id_number,sampled_at,result,lab\n"
                                 "cn_resident_id,440304200001010009,2026-03-14T08:00:00+08:00,negative,Lab 1\n"}}}})
def import_health_tests():
    """A CSV batch (id_type,id_number,sampled_at,result,lab): every row valid, or nothing recorded."""
    if request.mimetype not in ("text/csv", "text/plain", "application/octet-stream"):
        raise UnsupportedMediaType("send the CSV with Content-Type: text/csv")
    rows = health.parse_tests_csv(request.get_data(cache=False), HealthTestIn())
    return health.record_tests(get_session(), rows, actor=current_actor(), cipher=pii_cipher(), now=utcnow())


@blp.route("/scans")
class Scans(MethodView):
    @require_role(Role.OFFICER)
    @blp.arguments(ScanIn)
    @blp.response(200, ScanOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Verify a scanned pass at the officer's site and record the scan. Always 200 with a verdict, unless
        `scanned_at` is out of bounds (422 scan_time_out_of_bounds, nothing recorded: drop it)."""
        max_age = timedelta(hours=current_app.config["MAX_SCAN_AGE_HOURS"])
        return checkpoints.record_scan(get_session(), data=data, actor=current_actor(), areas=area_tree(),
                                       cache=_cache(), now=utcnow(), max_age=max_age,
                                       writer=current_app.extensions["scan_writer"])

    @require_role(Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
    @blp.arguments(ScanQueryArgs, location="query")
    @blp.response(200, ScanRecordOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """Where a pass has been: scans at sites in the caller's area (auditors: all)."""
        items, total = checkpoints.list_scans(get_session(), actor=current_actor(), areas=area_tree(), filters=args,
                                              page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


class RouteCheckpointsIn(Schema):
    site_ids = fields.List(Id(), required=True, validate=validate.Length(max=50))


class RouteCheckpointsOut(Schema):
    crossing_site_id = fields.Integer()
    yard_site_id = fields.Integer()
    site_ids = fields.List(fields.Integer())


ROUTE = "/routes/<int(max=2147483647):crossing_id>/<int(max=2147483647):yard_id>/checkpoints"


@blp.route(ROUTE)
class RouteCheckpoints(MethodView):
    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(RouteCheckpointsIn)
    @blp.response(200, RouteCheckpointsOut)
    @blp.doc(security=BEARER)
    def put(self, data, crossing_id, yard_id):
        """Set the checkpoints on a cross-border route; route-bound passes are good only there, at the
        crossing and at the yard."""
        site_ids = checkpoints.set_route_checkpoints(get_session(), crossing_id, yard_id,
                                                     checkpoint_ids=data["site_ids"], actor=current_actor(),
                                                     areas=area_tree(), now=utcnow())
        return {"crossing_site_id": crossing_id, "yard_site_id": yard_id, "site_ids": site_ids}

    @blp.response(200, RouteCheckpointsOut)
    def get(self, crossing_id, yard_id):
        """The checkpoints on a route (public: they are in the policy bundle too)."""
        return {"crossing_site_id": crossing_id, "yard_site_id": yard_id,
                "site_ids": checkpoints.route_checkpoints(get_session(), crossing_id, yard_id)}


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


@blp.route("/status-list")
@blp.doc(responses={"200": {"description": "COSE_Sign1 status list (see docs/pass-format.md)",
                            "content": {COSE: {"schema": {"type": "string", "format": "binary"}}}},
                    "304": {"description": "unchanged since the ETag sent in If-None-Match"}})
def status_list():
    """Signed list of suspended (1) and revoked (2) serials; send If-None-Match to download only changes."""
    version, document = status_list_service.signed_status_list(
        get_session(), ring=current_app.extensions["keyring"], cache=_cache(), areas=area_tree(), actor=SYSTEM,
        now=utcnow(), lifetime=_lifetime("STATUS_LIST_LIFETIME_HOURS"))
    response = Response(document, mimetype=COSE)
    response.set_etag(f"sl-{version}-{document[-8:].hex()}")
    response.cache_control.public, response.cache_control.max_age = True, 30
    return response.make_conditional(request)


@blp.route("/test-ages")
@blp.doc(responses={"200": {"description": "COSE_Sign1 test ages list (docs/pass-format.md#14-test-ages-list)",
                            "content": {COSE: {"schema": {"type": "string", "format": "binary"}}}},
                    "304": {"description": "unchanged since the ETag sent in If-None-Match"}})
def test_ages():
    """Signed age of each live pass's freshest negative test, for each zone's test rule offline (public)."""
    version, document = status_list_service.signed_test_ages(
        get_session(), ring=current_app.extensions["keyring"], cache=_cache(), areas=area_tree(), actor=SYSTEM,
        now=utcnow(), lifetime=_lifetime("STATUS_LIST_LIFETIME_HOURS"))
    response = Response(document, mimetype=COSE)
    response.set_etag(f"ta-{version}-{document[-8:].hex()}")
    response.cache_control.public, response.cache_control.max_age = True, 30
    return response.make_conditional(request)
