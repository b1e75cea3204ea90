"""Relay-yard HTTP routes: handovers, their events and custody chain, and the yard board."""
import json
from datetime import timedelta

from flask import Response, current_app
from flask.views import MethodView

from core import keys
from core.accounts import SYSTEM, Role
from core.auth import current_actor, require_role
from core.clock import utcnow
from core.db import get_session
from core.http import Blueprint, area_tree, page_of
from logistics import services
from logistics.schemas import (BoardOut, CustodyOut, EventIn, HandoverIn, HandoverOut, HandoverQueryArgs, LegIn)

blp = Blueprint("logistics", __name__, url_prefix="/api/v1", description="Relay-yard handovers")
BEARER = [{"bearer": []}]
ID = "<int(max=2147483647):handover_id>"
READERS = (Role.FIRM, Role.YARD, Role.REGULATOR, Role.AUDITOR, Role.ADMIN)


@blp.route("/handovers")
class Handovers(MethodView):
    @require_role(Role.FIRM)
    @blp.arguments(HandoverIn)
    @blp.response(201, HandoverOut)
    @blp.doc(security=BEARER)
    def post(self, data):
        """Book a load: yard, crossing, inbound leg (driver, tractor, container, seals), cargo."""
        return services.book_handover(get_session(), data=data, actor=current_actor(), now=utcnow())

    @require_role(*READERS)
    @blp.arguments(HandoverQueryArgs, location="query")
    @blp.response(200, HandoverOut(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, args, pagination_parameters):
        """Handovers by yard, state and day (firms: their own; yard staff: their yard; regulators: their area)."""
        items, total = services.list_handovers(get_session(), actor=current_actor(), areas=area_tree(), filters=args,
                                               page=page_of(pagination_parameters))
        pagination_parameters.item_count = total
        return items


@blp.route(f"/handovers/{ID}")
class HandoverItem(MethodView):
    @require_role(*READERS)
    @blp.response(200, HandoverOut)
    @blp.doc(security=BEARER)
    def get(self, handover_id):
        return services.get_handover(get_session(), handover_id, actor=current_actor(), areas=area_tree())


@blp.route(f"/handovers/{ID}/outbound", methods=["PUT"])
@require_role(Role.FIRM)
@blp.arguments(LegIn)
@blp.response(200, HandoverOut)
@blp.doc(security=BEARER)
def name_outbound(data, handover_id):
    """The collecting (mainland) firm names its driver and vehicle."""
    return services.name_outbound(get_session(), handover_id, data=data, actor=current_actor(), now=utcnow())


@blp.route(f"/handovers/{ID}/events", methods=["POST"])
@require_role(Role.YARD, Role.REGULATOR, Role.ADMIN)
@blp.arguments(EventIn)
@blp.response(201, HandoverOut)
@blp.doc(security=BEARER)
def post_event(data, handover_id):
    """Record a step (yard staff of that yard). 409 names the current state and the allowed events."""
    return services.record_event(get_session(), handover_id, data=data, actor=current_actor(), areas=area_tree(),
                                 cache=current_app.extensions["signed_cache"],
                                 max_return=timedelta(minutes=current_app.config["RETURN_MINUTES"]), now=utcnow())


@blp.route(f"/handovers/{ID}/custody")
@require_role(*READERS)
@blp.response(200, CustodyOut)
@blp.doc(security=BEARER)
def custody(handover_id):
    """The ordered events with their audit hashes, so the chain of custody can be checked."""
    return services.custody_chain(get_session(), handover_id, actor=current_actor(), areas=area_tree())


@blp.route(f"/handovers/{ID}/custody.cose")
@require_role(*READERS)
@blp.doc(security=BEARER, responses={"200": {"description": "COSE_Sign1 over the custody JSON",
                                             "content": {"application/cose": {"schema": {"type": "string",
                                                                                         "format": "binary"}}}}})
def custody_signed(handover_id):
    """The same chain, signed with the pass keys, for the receiving firm."""
    session, now = get_session(), utcnow()
    chain = services.custody_chain(session, handover_id, actor=current_actor(), areas=area_tree())
    signer = keys.active_signer(session, current_app.extensions["keyring"], actor=SYSTEM, now=now)
    payload = json.dumps({**chain, "issued_at": now.isoformat(timespec="seconds")}, ensure_ascii=False,
                         separators=(",", ":")).encode("utf-8")
    return Response(signer.sign(payload), mimetype="application/cose")


@blp.route("/yards/<int(max=2147483647):yard_id>/board")
@require_role(Role.YARD, Role.OFFICER, Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
@blp.response(200, BoardOut)
@blp.doc(security=BEARER)
def board(yard_id):
    """Waiting, held and in-progress loads, occupancy, dwell times (median, p90) and overdue returns.
    Yard staff and officers posted at the yard (they sign in once on /scan), regulators of its area, auditors."""
    return services.yard_board(get_session(), yard_id, actor=current_actor(), areas=area_tree(), now=utcnow())
