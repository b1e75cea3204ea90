"""One pass in the console, /console/passes/<id>: the firm's white-list record, the vehicle, the drivers
(masked) with their latest test result and its age, the scope as the area tree, the firm's other passes and
the history; and the buttons that decide on it (approve, reject, suspend, reinstate, revoke, with a reason)."""
from datetime import datetime

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from checkpoints.health import latest_results
from checkpoints.models import TestResult
from core.clock import utcnow
from core.errors import Forbidden
from core.schemas import ReasonIn
from passes import review, services
from passes.errors import PassNotFound
from passes.models import PassStatus, actions_from
from web.console import actor, areas, bp, can_decide, console_page, db, deciding_page
from web.console.queue import waited
from web.i18n import _, _l, current_language
from web.portal.passes import HISTORY_NAMES, local_time, masked_name, pass_view
from web.shell import CATEGORY_NAMES
from whitelist.models import FirmStatus

ACTION_NAMES = {"approve": _l("批准并签发"), "reject": _l("不予通过"), "suspend": _l("暂停"),
                "reinstate": _l("恢复"), "revoke": _l("吊销")}
DONE_NAMES = {"approve": _l("已批准并签发通行证 %(id)s。"), "reject": _l("已对通行证 %(id)s 作出不予通过决定。"),
              "suspend": _l("已暂停通行证 %(id)s。"), "reinstate": _l("已恢复通行证 %(id)s。"),
              "revoke": _l("已吊销通行证 %(id)s。检查站下次同步后即拒绝此证。")}
FIRM_STATUS_NAMES = {FirmStatus.PENDING: _l("待审核"), FirmStatus.APPROVED: _l("已列入白名单"),
                     FirmStatus.SUSPENDED: _l("已暂停")}
ENTRY_STATUS_NAMES = {"active": _l("有效"), "suspended": _l("已暂停")}
RESULT_NAMES = {TestResult.NEGATIVE: _l("阴性"), TestResult.POSITIVE: _l("阳性")}


@bp.get("/passes/<string(length=8):pass_id>")
@console_page
def pass_file(pass_id):
    """Everything about one pass, and the decisions the signed-in person may take on it."""
    return _render(pass_id, errors={}, reason="")


@bp.post("/passes/<string(length=8):pass_id>/approve")
@deciding_page
def approve(pass_id):
    """Approve and sign one pending pass (the rules of POST /api/v1/passes/<id>/approve)."""
    services.approve_pass(db(), pass_id, actor=actor(), areas=areas(), ring=current_app.extensions["keyring"],
                          now=utcnow())
    flash(DONE_NAMES["approve"] % {"id": pass_id}, "success")
    return redirect(url_for("console.pass_file", pass_id=pass_id), code=303)


@bp.post("/passes/<string(length=8):pass_id>/<any(reject, suspend, reinstate, revoke):action>")
@deciding_page
def change(pass_id, action):
    """Reject, suspend, reinstate or revoke one pass with a reason the firm reads (the API's rules)."""
    reason = request.form.get("reason", "")[:600]
    try:
        data = ReasonIn().load({"reason": reason} if reason.strip() else {})
    except ValidationError:
        return _render(pass_id, errors={action: _("请填写原因（企业会看到，最多 500 字）。")}, reason=reason), 422
    services.change_pass_status(db(), pass_id, action, actor=actor(), areas=areas(), reason=data["reason"],
                                now=utcnow())
    flash(DONE_NAMES[action] % {"id": pass_id}, "success")
    return redirect(url_for("console.pass_file", pass_id=pass_id), code=303)


def _render(pass_id: str, *, errors: dict, reason: str):
    session, who, tree, now = db(), actor(), areas(), utcnow()
    try:
        found = review.pass_file(session, pass_id, actor=who, areas=tree, now=now)
    except Forbidden:
        # Outside the caller's area: not found, as for an unknown id (the console shows its own area only).
        raise PassNotFound(f"no pass {pass_id} in your area") from None
    vpass = found.vpass
    results = latest_results(session, person_hashes=[p.id_hash for p in found.drivers], now=now)
    status = vpass.reported_status
    actions = actions_from(vpass.status) if can_decide() and services.may_change(who, vpass, tree) else []
    people = {p.id: p for p in found.drivers}
    return render_template(
        "console/pass_file.html", section="console.queue", p=pass_view(vpass, people),
        firm=_firm(found.firm), vehicle=found.vehicle,
        drivers=[_driver(person, results.get(person.id_hash), now) for person in found.drivers],
        scope_tree=_scope_tree(vpass.scope), others=[pass_view(o, {}) for o in found.others],
        others_total=found.others_total, actions=actions, action_names=ACTION_NAMES, errors=errors, reason=reason,
        events=[{"at": local_time(e.at), "what": HISTORY_NAMES.get(e.action, e.action), "who": e.actor_name,
                 "reason": (e.changes or {}).get("reason")} for e in found.history],
        entry_names=ENTRY_STATUS_NAMES, waited=waited(now - vpass.created_at) if status is PassStatus.PENDING else None)


def _firm(firm) -> dict:
    return {"id": firm.id, "name": firm.name, "uscc": firm.uscc, "category": CATEGORY_NAMES[firm.category],
            "area": _area_label(firm.area_code), "address": firm.address, "contact": masked_name(firm.contact_name),
            "phone": firm.contact_phone_masked, "status": firm.status.value,
            "status_name": FIRM_STATUS_NAMES[firm.status]}


def _driver(person, test, now: datetime) -> dict:
    return {"name": masked_name(person.name), "id_masked": person.id_masked, "status": person.status.value,
            "result": test.result.value if test else None, "result_name": RESULT_NAMES[test.result] if test else None,
            "sampled": local_time(test.sampled_at) if test else None,
            "age": waited(now - test.sampled_at) if test else None}


def _area_label(code: str) -> str:
    tree = areas()
    zh = current_language() == "zh"
    return " › ".join((a.name_zh if zh else a.name_en) for a in tree.path(code)) if code in tree else code


def _scope_tree(scope: list[str]) -> list[dict]:
    """The scope drawn as the area tree: city → districts → streets, the scope's own areas marked."""
    tree, zh = areas(), current_language() == "zh"
    root: dict = {}
    for code in scope:
        level = root
        for record in tree.path(code):
            node = level.setdefault(record.code, {"name": record.name_zh if zh else record.name_en, "children": {}})
            level = node["children"]

    def walk(level: dict) -> list[dict]:
        return [{"code": code, "name": node["name"], "in_scope": code in scope, "children": walk(node["children"])}
                for code, node in sorted(level.items())]
    return walk(root)
