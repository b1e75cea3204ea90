"""The printable windscreen page of a pass, /passes/ID/print, and the HTTP status of its "must not be used"
page."""
from datetime import timedelta, timezone

from flask import Blueprint, current_app, render_template

from core.clock import utcnow
from core.db import get_session
from core.http import area_tree
from passes import printing, qr, services
from passes.models import PassStatus

bp = Blueprint("pass_print", __name__, template_folder="templates")
CHINA_TIME = timezone(timedelta(hours=8))  # printed times are local; the QR and the API carry UTC
# A stopped pass prints a page that says so, never the QR. Revoked is final (410 Gone); suspended may be
# reinstated, so the printable page conflicts with the pass's current state (409), not gone for good.
STOPPED_HTTP_STATUS = {PassStatus.REVOKED: 410, PassStatus.SUSPENDED: 409}


@bp.get("/passes/<string(maxlength=64):pass_id>/print")
def print_pass(pass_id):
    """Printable windscreen page with the QR, plate, scope, validity and firm, in Chinese and English.
    A revoked (410) or suspended (409) pass gets a page that says it must not be used, with no QR; an
    unknown or unissued pass an HTML 404 page."""
    session, tree = get_session(), area_tree()
    vpass = printing.pass_for_print(session, pass_id, now=utcnow())
    if vpass is None:
        return render_template("print/not_found.html", pass_id=pass_id), 404
    if (status := STOPPED_HTTP_STATUS.get(vpass.status)) is not None:
        response = current_app.make_response((render_template("print/stopped.html", vpass=vpass), status))
        response.cache_control.no_store = True
        return response
    firm = services.firm_of(session, vpass)
    scope = [tree.get(code) for code in vpass.scope]
    svg = qr.render_svg(vpass.qr).decode("utf-8")
    return render_template("print/print.html", vpass=vpass, firm=firm, scope=scope, svg=svg, tz=CHINA_TIME)
