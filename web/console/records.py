"""The console's people and vehicles: a white-list entry (identity masked), the passes that name it, and
suspending or reinstating it with a reason, the passes concerned shown before the regulator confirms."""
from flask import abort, flash, redirect, render_template, request, url_for

from checkpoints.health import latest_results
from core.clock import utcnow
from core.errors import Forbidden, NotFound
from passes.effects import passes_changed_by_entry_action, passes_using
from web.console import actor, areas, bp, console_page, db, deciding_page
from web.console.decisions import ENTRY_STATUS_NAMES, posted_reason
from web.console.firms import area_name
from web.i18n import _, _l
from web.portal.dashboard import PASS_STATUS_NAMES
from web.portal.names import ID_TYPE_NAMES, KIND_NAMES, VEHICLE_KIND_NAMES
from whitelist import services as whitelist_services
from whitelist.models import EntryStatus

# action -> (target status, button and title, what it does to the passes listed)
ACTIONS = {
    "suspend": (EntryStatus.SUSPENDED, _l("暂停"),
                _l("暂停后，下列有效通行证随之停用，检查站扫码即拒绝；待审批的通行证在恢复前不能被批准。")),
    "reinstate": (EntryStatus.ACTIVE, _l("恢复"),
                  _l("恢复后，下列因暂停人员或车辆而停用的通行证随之恢复（其他司机或车辆仍被暂停的除外）；"
                     "因其他原因停用的不恢复。")),
}


@bp.get("/people/<int(max=2147483647):person_id>")
@console_page
def person_detail(person_id):
    """A person on a firm's list: masked identity, latest health test and its age, passes naming them."""
    person = _readable(whitelist_services.get_person, person_id)
    test = latest_results(db(), person_hashes=[person.id_hash], now=utcnow()).get(person.id_hash)
    return render_template("console/record.html", section="console.firm_queue", kind="person", record=person,
                           firm=whitelist_services.get_firm(db(), person.firm_id, actor=actor(), areas=areas()),
                           test=test, test_age_hours=_hours_since(test.sampled_at) if test else None,
                           passes=passes_using(db(), person_id=person.id), actions=_actions(person),
                           decision_url=url_for("console.person_decision", person_id=person.id), **_names())


@bp.get("/vehicles/<int(max=2147483647):vehicle_id>")
@console_page
def vehicle_detail(vehicle_id):
    """A vehicle on a firm's list: plates, kind, status, the passes naming it."""
    vehicle = _readable(whitelist_services.get_vehicle, vehicle_id)
    return render_template("console/record.html", section="console.firm_queue", kind="vehicle", record=vehicle,
                           firm=whitelist_services.get_firm(db(), vehicle.firm_id, actor=actor(), areas=areas()),
                           test=None, test_age_hours=None, passes=passes_using(db(), vehicle_id=vehicle.id),
                           actions=_actions(vehicle),
                           decision_url=url_for("console.vehicle_decision", vehicle_id=vehicle.id), **_names())


@bp.route("/people/<int(max=2147483647):person_id>/decision", methods=["GET", "POST"])
@deciding_page
def person_decision(person_id):
    person = _readable(whitelist_services.get_person, person_id)
    return _decide(person, person.name, whitelist_services.set_person_status,
                   url_for("console.person_detail", person_id=person.id),
                   url_for("console.person_decision", person_id=person.id), "person")


@bp.route("/vehicles/<int(max=2147483647):vehicle_id>/decision", methods=["GET", "POST"])
@deciding_page
def vehicle_decision(vehicle_id):
    vehicle = _readable(whitelist_services.get_vehicle, vehicle_id)
    return _decide(vehicle, vehicle.plate, whitelist_services.set_vehicle_status,
                   url_for("console.vehicle_detail", vehicle_id=vehicle.id),
                   url_for("console.vehicle_decision", vehicle_id=vehicle.id), "vehicle")


def _decide(entry, subject: str, change, back: str, action_url: str, kind: str):
    """The confirmation page of a suspension or reinstatement, with the passes it changes (the rule the change
    applies), and the change once confirmed with a reason."""
    action = request.values.get("action", "")
    if action not in ACTIONS:
        abort(404)
    concerned = passes_changed_by_entry_action(db(), kind, entry.id, action)
    target, title, effect = ACTIONS[action]
    reason_text, errors = "", {}
    if request.method == "POST":
        reason_text, reason, errors = posted_reason()
        if not errors:
            change(db(), entry.id, target, actor=actor(), areas=areas(), reason=reason, now=utcnow())
            flash(_("已完成：%(action)s（%(subject)s）", action=title, subject=subject), "success")
            return redirect(back, code=303)
    html = render_template("console/decision.html", section="console.firm_queue", subject=subject,
                           subject_status=ENTRY_STATUS_NAMES[entry.status], back=back, action_url=action_url,
                           action=action, title=title, effect=effect, affected=concerned,
                           allowed=action in _actions(entry), reason_required=True, reason=reason_text,
                           errors=errors, danger=action == "suspend")
    return html, 422 if errors else 200


def _readable(getter, item_id: int):
    try:
        return getter(db(), item_id, actor=actor(), areas=areas())
    except Forbidden as e:
        raise NotFound("not found") from e


def _actions(entry) -> list[str]:
    return [a for a, (target, _t, _e) in ACTIONS.items() if entry.status is not target]


def _hours_since(instant) -> int:
    return int((utcnow() - instant).total_seconds() // 3600)


def _names() -> dict:
    return {"entry_status_names": ENTRY_STATUS_NAMES, "pass_status_names": PASS_STATUS_NAMES,
            "kind_names": KIND_NAMES, "id_type_names": ID_TYPE_NAMES, "vehicle_kind_names": VEHICLE_KIND_NAMES,
            "area_name": area_name, "action_names": {a: v[1] for a, v in ACTIONS.items()}}
