"""The firm's colleagues: managers add and revoke them; clerks see who they are."""
from flask import current_app, flash, redirect, render_template, request, url_for

from core.accounts import FirmRole
from core.clock import utcnow
from core.errors import AppError
from web.i18n import _, _l
from web.portal import actor, areas, bp, db, firm_id, firm_page
from web.portal.forms import load_form, refusal_fields
from whitelist import firm_users
from whitelist.schemas import FirmUserIn

USER_FIELDS = ("name", "username", "password", "firm_role")
FIRM_ROLE_NAMES = {FirmRole.CLERK: _l("办事员"), FirmRole.MANAGER: _l("管理员")}


@bp.get("/users")
@firm_page
def users():
    """Everyone who works for the firm here; managers also get the add form and the revoke buttons."""
    return _render({"name": "", "username": "", "firm_role": FirmRole.CLERK.value}, {})


@bp.post("/users")
@firm_page
def add_user():
    """Add a colleague with a user name and a password (checked by the API's schema)."""
    # A clerk's forged form is refused before anything is read: the 403 page, whatever it holds.
    firm_users.require_firm_users_access(db(), firm_id(), actor=actor(), manage=True)
    form, data, errors = load_form(FirmUserIn(), USER_FIELDS)
    if not errors and form["password"] != request.form.get("password2", ""):
        errors = {"password2": _("两次输入的密码不一致。")}
    if not errors:
        try:
            account = firm_users.add_firm_user(db(), firm_id(), data=data, passwords=current_app.extensions["passwords"],
                                               actor=actor(), areas=areas(), now=utcnow())
        except AppError as e:
            errors = refusal_fields(e)
        else:
            flash(_("已为 %(name)s 开通账号：%(username)s", name=account.name, username=account.username), "success")
            return redirect(url_for("portal.users"), code=303)
    return _render(form, errors)


@bp.post("/users/<int(max=2147483647):account_id>/revoke")
@firm_page
def revoke_user(account_id):
    """Revoke a colleague: their sessions end at once (another firm's account is a 404)."""
    account = firm_users.revoke_firm_user(db(), firm_id(), account_id, actor=actor(), now=utcnow())
    flash(_("已停用：%(name)s", name=account.name), "success")
    return redirect(url_for("portal.users"), code=303)


def _render(form: dict, errors: dict):
    colleagues = firm_users.list_firm_users(db(), firm_id(), actor=actor())
    form = dict(form, password="")
    html = render_template("portal/users.html", colleagues=colleagues, form=form, errors=errors,
                           is_manager=actor().firm_role is FirmRole.MANAGER, me=actor().account_id,
                           role_names=FIRM_ROLE_NAMES)
    return html, 422 if errors else 200
