"""Pass HTTP routes: apply, approve and the other state changes, look-ups and QR images. The printable
windscreen page and the scanner page live in web/."""
from flask import Response, current_app, request
from flask.views import MethodView

from core import ratelimit
from core.accounts import Role
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.errors import PayloadTooLarge, UnsupportedMediaType
from core.http import Blueprint, area_tree, page_of, pii_cipher
from core.schemas import ReasonIn
from passes import batch, decisions, qr, services, sheets
from passes.schemas import BatchArgs, DecisionsIn, DecisionsOut, PassIn, PassOut, PassQueryArgs, SheetArgs

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


@blp.route("/passes/decisions", methods=["POST"])
@require_role(Role.REGULATOR)
@blp.arguments(DecisionsIn)
@blp.response(200, DecisionsOut)
@blp.alt_response(409, description="Some passes cannot be decided and confirm is not true: nothing changed. "
                                   "problem+json with `refused` ([{id, reason}]) and `accepted` (a count).")
@blp.doc(security=BEARER)
def decide_passes(data):
    """Approve or reject many pending passes at once (regulator): by ids or by the filters of GET /passes.
    Passes outside your area or no longer pending are refused with their reason; unless `confirm` is true a
    single refusal changes nothing. Every decided pass is audited on its own."""
    items = decisions.decide_passes(get_session(), ids=data.get("ids"), filters=data.get("filter"),
                                    action=decisions.Action(data["action"]), reason=data.get("reason"),
                                    confirm=data["confirm"], actor=current_actor(), areas=area_tree(), ring=_ring(),
                                    now=utcnow())
    return {"items": items, **{o.value: sum(1 for d in items if d.outcome is o) for o in decisions.Outcome}}


FLEET_CSV_EXAMPLE = ("plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose\n"
                     "粤B12345,440304200001010009;440304200001010017,vegetables,440304001 440304002,"
                     "2026-03-14T08:00:00+08:00,2026-03-16T20:00:00+08:00,蔬菜配送\n")
CSV_TYPES = ("text/csv", "text/plain", "application/octet-stream")


@blp.route("/passes/batch", methods=["POST"])
@require_role(Role.FIRM, Role.REGULATOR, Role.ADMIN)
@blp.arguments(BatchArgs, location="query")
@blp.response(201, PassOut(many=True))
@blp.doc(security=BEARER, requestBody={"required": True, "content": {
    "application/json": {"schema": {"type": "array", "maxItems": batch.MAX_ROWS, "items": PassIn}},
    "text/csv": {"schema": {"type": "string", "example": FLEET_CSV_EXAMPLE}}}})
def apply_for_fleet(args):
    """Fleet application: up to 1,000 passes at once, all pending, or none.

    Send a JSON list of the objects POST /passes takes, or a CSV file (Content-Type: text/csv) with the
    columns plate,driver_id_numbers,category,scope,valid_from,valid_until,purpose: identity numbers of the
    firm's drivers separated by ; or |, area codes by ; or spaces, RFC 3339 times. Every row meets the
    single application's rules, including overlap with existing passes and with other rows. On any error
    the 422 problem lists every error as {row, field, message} (JSON: row is the list index) or
    {row, column, message} (CSV: row is the line number, the header being line 1). A firm applies for
    itself; a regulator or admin passes firm_id for a firm in its area."""
    if request.mimetype == "application/json":
        kind = batch.BatchFormat.JSON
    elif request.mimetype in CSV_TYPES:
        kind = batch.BatchFormat.CSV
    else:
        raise UnsupportedMediaType("send a JSON list (application/json) or a CSV file (text/csv)")
    if (request.content_length or 0) > current_app.config["MAX_IMPORT_BYTES"]:
        raise PayloadTooLarge(f"a fleet application is at most {current_app.config['MAX_IMPORT_BYTES']} bytes")
    return batch.apply_for_fleet(get_session(), firm_id=args.get("firm_id"), body=request.get_data(cache=True),
                                 kind=kind, actor=current_actor(), areas=area_tree(), cipher=pii_cipher(),
                                 max_days=current_app.config["MAX_PASS_DAYS"], now=utcnow(),
                                 admit=_batch_allowance)


def _batch_allowance(firm_id: int) -> None:
    # Per firm, whoever applies for it, and only once the caller may act for the firm.
    ratelimit.consume_or_refuse("batch", key=f"firm:{firm_id}",
                                message="too many fleet applications for this firm; try later")


@blp.route("/passes/sheets.pdf")
@require_role(Role.FIRM, Role.REGULATOR, Role.ADMIN)
@blp.arguments(SheetArgs, location="query")
@blp.doc(security=BEARER, responses={
    "200": {"description": "A4 PDF, one or two windscreen passes a page",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    "409": {"description": "a pass is not active (pending, rejected, suspended, revoked, expired) or not "
                           "found; details.refused lists each id and why"},
    "503": {"description": "no CJK font on the server (GREENLANE_PDF_FONT)"}})
def pass_sheets(args):
    """Windscreen passes as a PDF: the firm's own active passes (a regulator's: passes touching its area),
    zh/en, QR 70 mm wide, validity in Beijing time. Nothing is printed if any id is refused."""
    font = sheets.find_font(current_app.config.get("PDF_FONT"))
    printable = sheets.sheets_for(get_session(), args["ids"], actor=current_actor(), areas=area_tree(), now=utcnow())
    response = Response(sheets.render_pdf(printable, font=font, per_page=args["per_page"]), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'inline; filename="passes.pdf"'
    response.cache_control.no_store = True
    return response


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
