"""The public application of a firm to the white list, with its first user (its manager)."""
from flask import current_app, redirect, render_template, request, url_for

from core import ratelimit
from core.accounts import PUBLIC, Role, find_account_by_username
from core.areas import AreaLevel
from core.clock import utcnow
from core.errors import AppError
from web.auth import current_user, start_web_session
from web.i18n import _
from web.portal import areas, bp, cipher, db
from web.portal.forms import load_form, refusal_fields
from web.portal.names import CATEGORY_NAMES
from whitelist import services as whitelist_services
from whitelist.schemas import FirmIn

FIRM_FIELDS = ("name", "uscc", "category", "area_code", "address", "contact_name", "contact_phone", "username",
               "password")


@bp.route("/apply", methods=["GET", "POST"])
def apply_firm():
    """Apply as a firm: the API's POST /firms fields, a user name and a password. The firm starts pending
    and the applicant is signed in to follow it."""
    user = current_user()
    if user is not None and not user.needs_second_factor and user.account.role is Role.FIRM:
        return redirect(url_for("portal.dashboard"), code=303)
    form, errors = {name: "" for name in FIRM_FIELDS}, {}
    if request.method == "POST":
        form, data, errors = load_form(FirmIn(), FIRM_FIELDS)
        errors |= _credential_errors(form, errors)
        if not errors:
            # The API's throttle on anonymous applications, counted once the form is complete.
            ratelimit.take("registration")  # test and count in one step (no race)
            try:
                whitelist_services.register_firm(db(), data=data, actor=PUBLIC, areas=areas(), cipher=cipher(),
                                                 now=utcnow(), passwords=current_app.extensions["passwords"])
            except AppError as e:
                errors = refusal_fields(e)
            else:
                response = redirect(url_for("portal.dashboard"), code=303)
                start_web_session(response, find_account_by_username(db(), data["username"]))
                return response
    form["password"] = ""  # never sent back into the page
    html = render_template("portal/apply.html", form=form, errors=errors, categories=CATEGORY_NAMES.items(),
                           districts=_districts())
    return html, 422 if errors else 200


def _credential_errors(form: dict, errors: dict) -> dict:
    """The portal's account is not optional as in the API, and the password is typed twice."""
    found = {}
    for name in ("username", "password"):
        if not form[name].strip() and name not in errors:
            found[name] = _("此项必填。")
    if form["password"] and form["password"] != request.form.get("password2", ""):
        found["password2"] = _("两次输入的密码不一致。")
    return found


def _districts():
    """(district, its streets) in code order, for the area select."""
    tree = areas()
    records = sorted(tree.by_code.values(), key=lambda a: a.code)
    return [(d, [s for s in records if s.parent_code == d.code and s.level is AreaLevel.STREET])
            for d in records if d.level is AreaLevel.DISTRICT]
