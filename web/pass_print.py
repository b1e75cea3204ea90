"""The printable windscreen page of a pass, /passes/ID/print, in the reader's language, and the HTTP status of
its "must not be used" page."""
from datetime import timedelta, timezone

from flask import Blueprint, current_app, render_template

from core.clock import utcnow
from core.db import get_session
from core.http import area_tree
from passes import printing, qr, services
from passes.models import PassStatus
from web.i18n import _l
from web.shell import CATEGORY_NAMES

bp = Blueprint("pass_print", __name__, template_folder="templates")
CHINA_TIME = timezone(timedelta(hours=8))  # printed times are local; the QR and the API carry UTC
# A stopped pass prints a page that says so, never the QR. Revoked is final (410 Gone); suspended may be
# reinstated, so the printable page conflicts with the pass's current state (409), not gone for good.
STOPPED_HTTP_STATUS = {PassStatus.REVOKED: 410, PassStatus.SUSPENDED: 409}
# The statuses a printable pass can report (a stopped one never reaches the printable page).
STATUS_NAMES = {PassStatus.ACTIVE: _l("有效"), PassStatus.EXPIRED: _l("已过期")}


@bp.get("/passes/<string(maxlength=64):pass_id>/print")
def print_pass(pass_id):
    """Printable windscreen page with the QR, plate, scope, validity and firm, in the reader's language.
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
    scope = [(code, tree.get(code)) for code in vpass.scope]
    return render_template("print/print.html", vpass=vpass, firm=firm, scope=scope, tz=CHINA_TIME,
                           svg=qr.render_inline_svg(vpass.qr), status_names=STATUS_NAMES,
                           category_names=CATEGORY_NAMES)
