"""The portal's first page: the firm's white-list status and what needs doing."""
from flask import render_template

from web.portal import actor, areas, bp, db, firm_id, firm_page
from whitelist import services as whitelist_services


@bp.get("/")
@firm_page
def dashboard():
    """The firm's status on the white list and the way to each task."""
    firm = whitelist_services.get_firm(db(), firm_id(), actor=actor(), areas=areas())
    return render_template("portal/dashboard.html", firm=firm)
