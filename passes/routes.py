"""Pass HTTP routes: apply, approve and the other state changes, look-ups and QR images. The printable
windscreen page and the scanner page live in web/."""
from flask import Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from core.accounts import Role
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.http import area_tree, page_of
from core.schemas import ReasonIn
from passes import qr, services
from passes.schemas import PassIn, PassOut, PassQueryArgs

blp = Blueprint("passes", __name__, url_prefix="/api/v1", description="Signed QR vehicle passes")
BEARER = [{"bearer": []}]
PASS_ID = "<string(length=8):pass_id>"


def _ring():
    return current_app.extensions["keyring"]


@blp.route("/passes")
class Passes(MethodView):
    @require_role(Role.FIRM)
    @blp.arguments(PassIn)
    @blp.response(201, PassOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Apply for a pass (firm account): vehicle, drivers, scope, window, purpose. Starts pending."""
        return services.apply_for_pass(get_session(), data=data, actor=current_actor(), areas=area_tree(),
                                       max_days=current_app.config["MAX_PASS_DAYS"], now=utcnow())

    @require_role(Role.FIRM, Role.REGULATOR, Role.ADMIN, Role.AUDITOR)
    @blp.arguments(PassQueryArgs, location="query")
    @blp.response(200, PassOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """Passes: a firm its own, a regulator those touching its area, admins and auditors all."""
        items, total = services.list_passes(get_session(), actor=current_actor(), areas=area_tree(), filters=args,
                                            page=page_of(pagination_parameters), now=utcnow())
        pagination_parameters.item_count = total
        return items


@blp.route(f"/passes/{PASS_ID}")
class PassItem(MethodView):
    @require_role(Role.FIRM, Role.REGULATOR, Role.ADMIN, Role.AUDITOR)
    @blp.response(200, PassOut)
    @blp.doc(security=BEARER)
    def get(self, pass_id):
        return services.get_pass(get_session(), pass_id, actor=current_actor(), areas=area_tree(), now=utcnow())


@blp.route(f"/passes/{PASS_ID}/approve", methods=["POST"])
@require_role(Role.REGULATOR, Role.ADMIN)
@blp.response(200, PassOut)
@blp.doc(security=BEARER)
def approve_pass(pass_id):
    """Approve and sign (regulator whose area contains every scope area). Returns serial, qr and kid."""
    return services.approve_pass(get_session(), pass_id, actor=current_actor(), areas=area_tree(), ring=_ring(),
                                 now=utcnow())


def _status_route(action: str):
    @require_role(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(ReasonIn)
    @blp.response(200, PassOut)
    @blp.doc(security=BEARER)
    def view(data, pass_id):
        return services.change_pass_status(get_session(), pass_id, action, actor=current_actor(), areas=area_tree(),
                                           reason=data["reason"], now=utcnow())
    view.__name__ = f"{action}_pass"
    view.__doc__ = f"{action.capitalize()} a pass, with a reason (regulator whose area contains the scope, or admin)."
    blp.route(f"/passes/{PASS_ID}/{action}", methods=["POST"], endpoint=view.__name__)(view)


for _action in ("reject", "suspend", "reinstate", "revoke"):
    _status_route(_action)


@blp.route(f"/passes/{PASS_ID}/qr.png")
@blp.doc(responses={"200": {"description": "QR image", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
def pass_qr_png(pass_id):
    """The pass's QR code as PNG (public for issued passes: the code is shown on the windscreen)."""
    vpass = services.get_issued_pass(get_session(), pass_id, now=utcnow())
    return Response(qr.render_png(vpass.qr), mimetype="image/png")


@blp.route(f"/passes/{PASS_ID}/qr.svg")
@blp.doc(responses={"200": {"description": "QR image", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def pass_qr_svg(pass_id):
    """The pass's QR code as SVG (public for issued passes)."""
    vpass = services.get_issued_pass(get_session(), pass_id, now=utcnow())
    return Response(qr.render_svg(vpass.qr), mimetype="image/svg+xml")
