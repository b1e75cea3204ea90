"""What an operator or a load balancer asks a running host: is it serving, and what is degraded."""
from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields
from core.http import Blueprint

blp = Blueprint("probes", __name__, url_prefix="/api/v1", description="Service status for operators")


class RateLimitStatusOut(Schema):
    storage = fields.String(metadata={"description": "redis (shared by every host) or memory (per process)"})
    shared = fields.Boolean(metadata={"description": "true when every worker and host counts together"})
    available = fields.Boolean(metadata={"description": "false while Redis does not answer (limits fail open)"})
    fail_open_total = fields.Integer(metadata={"description": "checks skipped since start because Redis failed"})


class ServiceStatusOut(Schema):
    status = fields.String(metadata={"description": "ok, or degraded when a dependency fails"})
    rate_limits = fields.Nested(RateLimitStatusOut)


@blp.route("/service-status")
class ServiceStatus(MethodView):
    @blp.response(200, ServiceStatusOut)
    def get(self):
        """This host's view of its dependencies (public; no personal data, no configuration values)."""
        health = current_app.extensions["ratelimit_health"]
        shared = bool(current_app.config.get("REDIS_URL"))
        limits = {"storage": "redis" if shared else "memory", "shared": shared,
                  "available": health.available, "fail_open_total": health.fail_open_total}
        return {"status": "ok" if health.available else "degraded", "rate_limits": limits}
