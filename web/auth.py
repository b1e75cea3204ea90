"""Signing in to the pages: the session cookie, who is signed in, which pages a role may open, and the
sign-in, second-factor, account and sign-out pages. The rules live in core (signin, websessions, totp);
this module only carries them over HTTP."""
from dataclasses import dataclass
from functools import wraps
from typing import Callable

import segno
from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import Forbidden

from core import signin, totp, websessions
from core.accounts import Actor, Role
from core.clock import utcnow
from core.db import get_session
from core.errors import InvalidState, NotFound
from web.i18n import _, _l
from web.pages import init_page_blueprint
from web.shell import safe_next

bp = Blueprint("auth", __name__, template_folder="templates")
init_page_blueprint(bp)

COOKIE = "greenlane_session"
USERNAME_MAX, PASSWORD_MAX, CODE_MAX = 64, 256, 12
ROLE_NAMES = {Role.ADMIN: _l("系统管理员"), Role.REGULATOR: _l("主管部门"), Role.FIRM: _l("企业"),
              Role.OFFICER: _l("检查站执勤人员"), Role.YARD: _l("接驳场站工作人员"), Role.HEALTH: _l("检测机构"),
              Role.AUDITOR: _l("审计")}


@dataclass(frozen=True)
class WebUser:
    """The person behind this request's session cookie."""

    account: object  # core.accounts.Account
    token: str
    needs_second_factor: bool
    totp_enrolled: bool

    @property
    def actor(self) -> Actor:
        return Actor.of(self.account)


def current_user() -> WebUser | None:
    """The signed-in person of this request, or None; looked up once per request, only when asked."""
    if "web_user" not in g:
        g.web_user = _look_up(request.cookies.get(COOKIE))
        if g.web_user is not None and not g.web_user.needs_second_factor:
            g.actor = g.web_user.actor  # services and core.auth.current_actor() see the same caller
    return g.web_user


def _look_up(token: str | None) -> WebUser | None:
    if not token:
        return None
    try:
        state = websessions.look_up_session(get_session(), token, policy=_policy(), now=utcnow())
    except websessions.SessionInvalid:
        return None
    return WebUser(state.account, token, state.needs_second_factor, state.totp_enrolled)


def signed_in(*roles: Role) -> Callable:
    """Open the page only to a signed-in person (past the second factor) holding one of `roles`.
    Anyone else is sent to the sign-in page and brought back here afterwards."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            back = request.full_path.rstrip("?") if request.method == "GET" else None
            if user is None:
                return redirect(url_for("auth.sign_in", next=back), code=303)
            if user.needs_second_factor:
                return redirect(url_for("auth.second_factor", next=back), code=303)
            if roles and user.account.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)
        wrapper.page_roles = roles  # read by the tests that walk every page
        return wrapper
    return decorator


def home_for(account) -> str:
    """Where a person lands after signing in: the page their role works on."""
    endpoints = current_app.view_functions
    if account.role is Role.FIRM and "portal.dashboard" in endpoints:
        return url_for("portal.dashboard")
    if account.role in (Role.REGULATOR, Role.ADMIN, Role.AUDITOR) and "console.queue" in endpoints:
        return url_for("console.queue")
    return url_for("auth.account")


@bp.route("/signin", methods=["GET", "POST"])
def sign_in():
    """User name and password; then the second factor if the account has or needs one."""
    target = _next_page()
    form = {"username": request.form.get("username", "")[:USERNAME_MAX]}
    if request.method == "GET":
        user = current_user()
        if user is not None and user.needs_second_factor:
            return redirect(url_for("auth.second_factor", next=target), code=303)
        if user is not None:
            return redirect(target or home_for(user.account), code=303)
        signed_out = _("您已退出。") if request.args.get("signed_out") else None
        return render_template("web/signin.html", form=form, next=target, error=None, notice=signed_out)
    password = request.form.get("password", "")
    if not form["username"].strip() or not password or len(password) > PASSWORD_MAX:
        return _sign_in_refused(form, target, _("请输入用户名和密码。"), 422)
    db = get_session()
    try:
        account = signin.sign_in(db, form["username"], password, address=_address(), now=utcnow(),
                                 passwords=current_app.extensions["passwords"],
                                 throttle=current_app.extensions["signin_throttle"])
    except signin.SignInThrottled as e:
        minutes = max(1, (int(e.headers.get("Retry-After", 60)) + 59) // 60)
        response = _sign_in_refused(form, target, _("失败次数过多，请 %(minutes)d 分钟后再试。", minutes=minutes), 429)
        response.headers.extend(e.headers)
        return response
    except signin.SignInFailed:
        return _sign_in_refused(form, target, _("用户名或密码不正确。"), 401)
    token = websessions.start_session(db, account, policy=_policy(), now=utcnow(), address=_address())[1]
    state = websessions.look_up_session(db, token, policy=_policy(), now=utcnow())
    if state.needs_second_factor:
        response = redirect(url_for("auth.second_factor", next=target), code=303)
    else:
        response = redirect(target or home_for(account), code=303)
    _set_cookie(response, token)
    return response


def start_web_session(response, account) -> None:
    """Sign `account` in on this browser without a password prompt (a firm that has just applied, with
    the password it chose a moment ago): a new session and its cookie on `response`."""
    token = websessions.start_session(get_session(), account, policy=_policy(), now=utcnow(), address=_address())[1]
    _set_cookie(response, token)


def _sign_in_refused(form, target, message, status):
    html = render_template("web/signin.html", form=form, next=target, error=message, notice=None)
    return current_app.make_response((html, status))


@bp.route("/signin/code", methods=["GET", "POST"])
def second_factor():
    """The authenticator code; an account that must use one and has none enrolls here first."""
    user = current_user()
    if user is None:
        return redirect(url_for("auth.sign_in"), code=303)
    target = _next_page()
    if not user.needs_second_factor:
        return redirect(target or home_for(user.account), code=303)
    db, error, status = get_session(), None, 200
    if request.method == "POST":
        code = request.form.get("code", "").replace(" ", "")[:CODE_MAX]
        try:
            totp.verify_second_factor(db, user.token, code, policy=_policy(),
                                      cipher=current_app.extensions["pii"], now=utcnow())
        except websessions.SessionInvalid:
            response = redirect(url_for("auth.sign_in"), code=303)
            response.delete_cookie(COOKIE)
            return response
        except totp.SecondFactorInvalid:
            error, status = _("验证码不正确或已用过，请输入验证器上的最新 6 位数字。"), 401
        else:
            return redirect(target or home_for(user.account), code=303)
    html = render_template("web/second_factor.html", next=target, error=error, enrollment=_enrollment(db, user))
    return current_app.make_response((html, status))


def _enrollment(db, user: WebUser) -> dict | None:
    """The QR code and secret to add to an authenticator app: for an account that has none yet (enrolled
    now), or one enrolled whose first code has not been given yet (a mistyped first code must not strand
    the person without the QR). None once a code has been used."""
    cipher = current_app.extensions["pii"]
    if not user.totp_enrolled:
        try:
            uri = totp.enroll_totp(db, user.account, cipher=cipher, now=utcnow())
        except InvalidState:  # enrolled a moment ago in another tab
            uri = totp.unconfirmed_provisioning_uri(user.account, cipher=cipher)
    else:
        uri = totp.unconfirmed_provisioning_uri(user.account, cipher=cipher)
    if uri is None:
        return None
    secret = uri.split("secret=")[1].split("&")[0]
    svg = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return {"qr": svg, "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))}


@bp.get("/account")
def account():
    """Who is signed in, with the way to the page their role works on and the sign-out button."""
    user = current_user()
    if user is None or user.needs_second_factor:
        return redirect(url_for("auth.sign_in", next=request.path), code=303)
    return render_template("web/account.html", account=user.account, home=home_for(user.account),
                           enrolled=user.totp_enrolled, role_names=ROLE_NAMES)


@bp.post("/account/code")
def enroll_second_factor():
    """A person chooses to add an authenticator: the code page enrolls and checks it."""
    user = current_user()
    if user is None or user.needs_second_factor:
        return redirect(url_for("auth.sign_in"), code=303)
    if user.totp_enrolled:
        return redirect(url_for("auth.account"), code=303)
    # From now on this account needs the code; this session proves it on the page that shows the QR.
    enrollment = _enrollment(get_session(), user)
    return render_template("web/second_factor.html", next=url_for("auth.account"), error=None,
                           enrollment=enrollment)


@bp.post("/signout")
def sign_out():
    """End this session now (also the cookie), then back to the sign-in page."""
    token = request.cookies.get(COOKIE)
    if token:
        try:
            websessions.end_session(get_session(), token, now=utcnow())
        except NotFound:
            pass
    response = redirect(url_for("auth.sign_in", signed_out=1), code=303)
    response.delete_cookie(COOKIE, path="/", secure=_secure(), httponly=True, samesite="Lax")
    return response


def _next_page() -> str | None:
    """The page to go back to after signing in: a path on this site, else None (the role's home)."""
    value = request.values.get("next")
    return value if value and safe_next(value) == value else None


def _set_cookie(response, token: str) -> None:
    policy = _policy()
    response.set_cookie(COOKIE, token, max_age=int(policy.absolute.total_seconds()), path="/",
                        secure=_secure(), httponly=True, samesite="Lax")


def _secure() -> bool:
    return bool(current_app.config["SESSION_COOKIE_SECURE"])


def _policy() -> websessions.SessionPolicy:
    return current_app.extensions["session_policy"]


def _address() -> str:
    return request.remote_addr or "unknown"


def _shell_user():
    """The layout's header: the signed-in name and a sign-out button."""
    user = current_user() if request.cookies.get(COOKIE) else None
    if user is None:
        return {"shell_user": None}
    return {"shell_user": {"name": user.account.name, "signout_url": url_for("auth.sign_out"),
                           "account_url": url_for("auth.account")}}


def init_app(app: Flask) -> None:
    # Session cookies travel over HTTPS only, except on a demo instance (plain http://localhost).
    secure = app.config.get("COOKIE_SECURE")
    app.config["SESSION_COOKIE_SECURE"] = (not app.config["DEMO"]) if secure is None else secure
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.context_processor(_shell_user)
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in current_app.view_functions
    app.register_blueprint(bp)
