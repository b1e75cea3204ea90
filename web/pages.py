"""What every page blueprint shares: CSRF on every form, errors as pages (not JSON) in the user's language,
and marshmallow's field errors turned into one message per field for the templates."""
from flask import Blueprint, Flask, make_response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from core.errors import AppError
from web.i18n import _, _l

csrf = CSRFProtect()
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# What a person reads for an error, by HTTP status; the problem code picks a sharper text where one exists.
STATUS_TEXTS = {
    400: (_l("请求无法处理"), _l("请返回上一页重新填写后再提交。")),
    403: (_l("没有权限"), _l("您的账号不能打开此页面。如需权限，请联系本单位管理员。")),
    404: (_l("找不到此页面"), _l("链接可能有误，或者该记录不属于您的单位。请从菜单重新进入。")),
    405: (_l("请求无法处理"), _l("请从页面上的按钮操作，不要直接打开此地址。")),
    409: (_l("操作未完成"), _l("记录的状态已变化，请刷新页面后再试。")),
    413: (_l("文件太大"), _l("请把文件拆分成较小的几份再上传。")),
    422: (_l("输入有误"), _l("请检查标红的内容后再提交。")),
    429: (_l("操作太频繁"), _l("请稍后再试。")),
}
CODE_TEXTS = {
    "not_whitelisted": _l("本单位尚未通过白名单审核，暂时不能办理此业务。"),
    "firm_suspended": _l("本单位已被暂停，名单已冻结。请联系主管部门。"),
    "rate_limited": _l("操作太频繁，请稍后再试。"),
}


def init_page_blueprint(bp: Blueprint) -> None:
    """Give a page blueprint CSRF checks on every unsafe request and HTML error pages."""
    bp.before_request(_check_csrf)
    bp.register_error_handler(CSRFError, _csrf_failed)
    bp.register_error_handler(AppError, _app_error)
    bp.register_error_handler(HTTPException, _http_error)


def _check_csrf():
    if request.method in UNSAFE_METHODS:
        csrf.protect()


def _csrf_failed(error):
    return error_page(400, _("页面已过期"), _("为了安全，表单只能从本站页面提交。请返回上一页，刷新后重新提交。"))


def _app_error(error: AppError):
    title, text = STATUS_TEXTS.get(error.status, STATUS_TEXTS[400])
    text = CODE_TEXTS.get(error.code, text)
    response = error_page(error.status, title, text)
    response.headers.extend(getattr(error, "headers", {}))
    return response


def _http_error(error: HTTPException):
    title, text = STATUS_TEXTS.get(error.code or 500, STATUS_TEXTS[400])
    return error_page(error.code or 500, title, text)


def error_page(status: int, title: str, text: str):
    return make_response(render_template("web/error.html", title=title, text=text, status=status), status)


def field_errors(error: ValidationError | dict) -> dict[str, str]:
    """One message per field from a marshmallow error (or an AppError's `fields`), for display beside it.
    Nested messages (a list of rows, a nested object) are flattened to 'field' → first message."""
    messages = error.messages if isinstance(error, ValidationError) else error
    flat = {}
    for name, value in (messages or {}).items():
        while isinstance(value, (list, dict)) and value:
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        flat[str(name)] = str(value)
    return flat


def init_app(app: Flask) -> None:
    # Checked per page blueprint (init_page_blueprint), never on the token-authenticated API.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # A form left open through a long shift must still submit: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
