"""The web shell: the landing page, the language switch and the public firm lookup, on one layout."""
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError, fields, validate

from core.areas import AreaLevel
from core.db import Page, get_session
from core.http import area_tree
from web import i18n, page_headers
from web.i18n import _l
from whitelist import services as whitelist_services
from whitelist.models import Category

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static/web",
               static_url_path="/static/web")
# Third-party front-end files, pinned and recorded in web/static/vendor/README.md (no CDN).
vendor = Blueprint("web_vendor", __name__, static_folder="static/vendor", static_url_path="/static/vendor")

LOOKUP_PAGE_SIZE = 20
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
CATEGORY_NAMES = {
    Category.GRAIN_OIL: _l("粮油"), Category.VEGETABLES: _l("蔬菜"), Category.MEAT: _l("肉类"),
    Category.MEDICINE: _l("药品"), Category.EXPRESS_DELIVERY: _l("快递"), Category.FOOD_DELIVERY: _l("外卖"),
    Category.UTILITIES: _l("水电燃气"), Category.CROSS_BORDER_FREIGHT: _l("跨境货运"), Category.OTHER: _l("其他"),
}


class FirmLookupArgs(Schema):
    """The lookup form: text (name or credit code), a district, a page number; blanks mean 'any'."""

    q = fields.String(load_default="", validate=validate.Length(max=100, error=_l("最多 100 个字符。")))
    area = fields.String(load_default="")
    page = fields.Integer(load_default=1, strict=False,
                          validate=validate.Range(min=1, max=10_000, error=_l("页码须为正整数。")),
                          error_messages={"invalid": _l("页码须为正整数。")})


@bp.get("/")
def landing():
    """What GreenLane is, and big links to the firm portal, the scanner, the lookup and the API docs."""
    return render_template("web/landing.html", signin_url=url_for("auth.sign_in"))


@bp.get("/lang/<code>")
def switch_language(code):
    """Remember the chosen language in a cookie and go back to `next` (a path on this site only)."""
    language = i18n.language_code(code)
    if language is None:
        abort(404)
    target = safe_next(request.values.get("next"))
    response = redirect(target, code=303)
    response.set_cookie(i18n.LOCALE_COOKIE, language, max_age=LANGUAGE_COOKIE_AGE, samesite="Lax",
                        httponly=True, secure=request.is_secure)
    return response


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site ('/…'), else '/': never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(ch) < 0x20 or ch == "\\" for ch in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


@bp.get("/firms/lookup")
def firm_lookup():
    """Approved firms by name, credit code or district, through the white list's public search."""
    tree = area_tree()
    districts = [a for a in tree.by_code.values() if a.level is AreaLevel.DISTRICT]
    form = {"q": request.args.get("q", ""), "area": request.args.get("area", "")}
    context = {"form": form, "districts": districts, "errors": {}, "firms": [], "total": 0, "page": 1,
               "pages": 0, "tree": tree, "category_names": CATEGORY_NAMES}
    try:
        args = FirmLookupArgs().load({k: v for k, v in request.args.items() if k in ("q", "area", "page")})
    except ValidationError as e:
        # One message per field; a lazy (translated) message arrives bare, not in a list.
        context["errors"] = {k: str(v[0] if isinstance(v, list) else v) for k, v in e.messages.items()}
        return render_template("web/firm_lookup.html", **context), 422
    if args["area"] and args["area"] not in tree:
        context["errors"] = {"area": _l("请从列表中选择一个区。")}
        return render_template("web/firm_lookup.html", **context), 422
    filters = {"q": args["q"].strip() or None, "area": args["area"] or None}
    firms, total = whitelist_services.search_public_firms(
        get_session(), filters=filters, areas=tree, page=Page(number=args["page"], size=LOOKUP_PAGE_SIZE))
    context.update(firms=firms, total=total, page=args["page"],
                   pages=(total + LOOKUP_PAGE_SIZE - 1) // LOOKUP_PAGE_SIZE)
    return render_template("web/firm_lookup.html", **context)


def init_app(app: Flask) -> None:
    """Languages, the shell pages and the security headers of every HTML page."""
    i18n.init_app(app)
    page_headers.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(vendor)
