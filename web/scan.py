"""The officers' scanner page, /scan, and its service worker, /scan-sw.js."""
from flask import Blueprint, current_app, render_template, send_from_directory

bp = Blueprint("scan", __name__, template_folder="templates", static_folder="static/scan",
               static_url_path="/static/scan")


@bp.get("/scan")
def scanner():
    """The officers' scanner page: signs in once with a token, verifies online or offline, queues scans."""
    response = current_app.make_response(render_template("scan/scan.html"))
    # Scripts only from this origin: the page keeps an API token, so no inline or third-party code.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/scan-sw.js")
def scanner_service_worker():
    """The scanner page's service worker (keeps the page loadable offline). Served here, not under
    /static/scan/, because a worker only controls pages below its own path."""
    response = send_from_directory(bp.static_folder, "scan-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.no_cache = True
    return response
