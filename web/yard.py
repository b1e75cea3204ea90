"""The relay-yard board page, /yards/ID; its data comes from the board API with the token kept by /scan."""
from flask import Blueprint, current_app, render_template, request

from core.db import get_session
from logistics import services
from logistics.errors import YardNotFound

bp = Blueprint("yard", __name__, template_folder="templates", static_folder="static/yard",
               static_url_path="/static/yard")
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")


@bp.get("/yards/<int(max=2147483647):yard_id>")
def yard_page(yard_id):
    """The yard board page (Chinese and English); it reads the board API with the token kept by /scan."""
    services.get_yard(get_session(), yard_id)
    return _page(render_template("yard/yard.html", yard_id=yard_id))


@bp.errorhandler(YardNotFound)
def yard_not_found(error):
    """A short 404 page instead of an empty board for a site that does not exist or is not a relay yard."""
    return _page(render_template("yard/not_found.html", yard_id=request.view_args.get("yard_id")), 404)


def _page(html: str, status: int = 200):
    response = current_app.make_response((html, status))
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response
