"""The officers' scanner page, /scan, and its service worker, /scan-sw.js. The page's words come from the
catalog: the template's through gettext, the script's rendered into the page as a JSON block (scanner_texts)."""
from flask import Blueprint, current_app, render_template, send_from_directory

from passes.verifier import REASONS
from web.i18n import _, _l, current_language

bp = Blueprint("scan", __name__, template_folder="templates", static_folder="static/scan",
               static_url_path="/static/scan")
# Scripts only from this origin: the page keeps an API token, so no inline or third-party code. Stricter than
# the other pages' policy only in what the camera and the service worker need (media, blob:, worker).
SCANNER_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
               "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; form-action 'self'; "
               "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")

# What an officer reads for each reason code of passes/verifier.REASONS (the same codes, online or offline).
REASON_TEXTS = {
    "malformed": _l("二维码无效或已损坏"),
    "bad_signature": _l("签名无效，可能伪造或被篡改"),
    "unknown_key": _l("签发密钥未知"),
    "key_revoked": _l("签发密钥已吊销"),
    "stale_trust_list": _l("离线密钥列表已过期，请联网同步后再查验"),
    "stale_status_list": _l("离线通行证状态名单已过期，请联网同步后再查验"),
    "stale_policy": _l("离线防控规则已过期，请联网同步后再查验"),
    "revoked": _l("通行证已吊销"),
    "suspended": _l("通行证已暂停或状态未知"),
    "not_yet_valid": _l("通行证尚未生效"),
    "expired": _l("通行证已过期"),
    "out_of_scope": _l("超出通行范围"),
    "sealed_zone": _l("封控区域：通行证未列明本区域"),
    "site_required": _l("跨境线路通行证须在绑定站点核验"),
    "test_missing": _l("无核酸检测记录"),
    "test_stale": _l("核酸检测已超出时效"),
    "test_positive": _l("核酸检测阳性"),
    "plate_mismatch": _l("车牌不符"),
    "clone_suspected": _l("疑似克隆通行证"),
}
assert tuple(REASON_TEXTS) == REASONS, "one text per reason code, in the verifier's order"


def scanner_texts() -> dict:
    """Every text the scanner's script shows, in the page's language. %(name)s marks a value the script
    fills in (kept as in the catalog: gettext without arguments does not format)."""
    return {
        "lang": current_language(),
        "accept": _("通过"), "reject": _("拒绝"),
        "online_check": _("在线核验"), "offline_check": _("离线核验"),
        "online": _("在线"), "offline": _("离线"),
        "plate_seen": _("所见车牌：%(plate)s"),
        "pass": _("通行证号"), "scope": _("通行范围"), "valid_until": _("有效至"), "firm": _("企业"),
        "drivers": _("司机"), "online_only": _("—（仅在线核验时显示）"),
        "no_site": _("（未绑定站点）"),
        "officer_needed": _("需要绑定站点的检查员账号。"),
        "signin_failed": _("登录失败：%(reason)s"),
        "token_rejected": _("令牌无效或已吊销，请重新登录。"),
        "sync_failed": _("同步失败：%(reason)s"),
        "upload_failed": _("上传失败（%(scan)s）：%(reason)s"),
        "scan_failed": _("查验出错：%(reason)s"),
        "server_refused": _("服务器拒收此次扫码：%(reason)s"),
        "no_offline_data": _("无离线数据，请联网同步。"),
        "offline_data_bad": _("离线数据无效：%(reason)s"),
        "camera_failed": _("摄像头不可用：%(reason)s"),
        "camera_denied": _("未获准使用摄像头。请在浏览器设置中允许本网站使用摄像头，或用扫码枪、手工输入。"),
        "camera_missing": _("找不到摄像头。请用扫码枪或手工输入二维码内容。"),
        "camera_stop": _("关闭摄像头"),
        "beijing_time": _("%(time)s（北京时间）"),
        "synced_at": _("%(time)s（%(age)s）"),
        "age_now": _("刚刚"), "age_minutes": _("%(n)s 分钟前"), "age_hours": _("%(n)s 小时前"),
        "age_days": _("%(n)s 天前"),
        "disagreement": _("%(time)s %(plate)s：离线%(offline)s，服务器%(server)s"),
        "refused": _("%(time)s %(plate)s：服务器拒收，已移出队列：%(reason)s"),
        "switch_offline": _("切换语言需要联网。联网后再切换，本页仍可离线查验。"),
        "data_age": _("%(age)s前签发，%(until)s 到期"),
        "data_age_expired": _("%(age)s前签发，%(until)s 已过期"),
        "data_warn": _("离线数据将在 %(left)s后（%(until)s）过期，请尽快联网同步。"),
        "data_expired": _("离线数据已过期（%(names)s）：离线查验一律拒绝，请立即联网同步。"),
        "rollback": _("收到的%(name)s（版本 %(version)s）比本机已有的（版本 %(seen)s）旧，未采用。"),
        "doc_trust": _("密钥列表"), "doc_status": _("通行证状态名单"), "doc_ages": _("核酸时效名单"),
        "doc_policy": _("防控规则"), "list_sep": _("、"),
        "n_minutes": _("%(n)s 分钟"), "n_hours": _("%(n)s 小时"), "n_days": _("%(n)s 天"),
        "reasons": {code: str(text) for code, text in REASON_TEXTS.items()},
    }


@bp.get("/scan")
def scanner():
    """The officers' scanner page: signs in once with a token, verifies online or offline, queues scans."""
    response = current_app.make_response(render_template("scan/scan.html", texts=scanner_texts()))
    response.headers["Content-Security-Policy"] = SCANNER_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    # The page is cached by its service worker as last loaded, i.e. in the language last chosen.
    response.headers["Content-Language"] = "zh-CN" if current_language() == "zh" else "en"
    response.vary.update(("Cookie", "Accept-Language"))
    return response


@bp.get("/scan-sw.js")
def scanner_service_worker():
    """The scanner page's service worker (keeps the page loadable offline). Served here, not under
    /static/scan/, because a worker only controls pages below its own path."""
    response = send_from_directory(bp.static_folder, "scan-sw.js", mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.no_cache = True
    return response
