"""Security headers of every HTML page, set in one place: the scanner page's strict CSP and friends.

A page that sets its own Content-Security-Policy (the scanner needs camera and worker sources) keeps it.
Inline code is never allowed wholesale ('unsafe-inline'); two exact allowances by SHA-256 hash remain:
- a static <style> block written in a template file we render (the print pages carry one), hashed from
  the template's source, so markup injected into a response can never allow itself;
- the inline <script> of flask-smorest's Swagger UI page, whose text depends only on the app's config.
"""
import base64
import hashlib
import re
from pathlib import Path

from flask import Flask, Response, g, request, template_rendered

# Same directives as the /scan page, without its camera, media and worker sources.
PAGE_CSP = ("default-src 'self'; script-src 'self'{scripts}; style-src 'self'{styles}; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; object-src 'none'; frame-ancestors 'none'; "
            "base-uri 'none'")
# Pages rendered by a library, with an inline <script> we cannot move to a file.
INLINE_SCRIPT_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui"})
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)


def csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly this inline script or style text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def inline_script_hashes(html: str) -> list[str]:
    return [csp_hash(body) for body in _INLINE_SCRIPT.findall(html)]


def static_style_hashes(template_source: str) -> list[str]:
    """Hashes of the <style> blocks of a template that contain no template code (they render verbatim)."""
    return [csp_hash(body) for body in _INLINE_STYLE.findall(template_source)
            if "{{" not in body and "{%" not in body and "{#" not in body]


def page_csp(response: Response) -> str:
    scripts = []
    if request.endpoint in INLINE_SCRIPT_ENDPOINTS and not response.direct_passthrough:
        scripts = inline_script_hashes(response.get_data(as_text=True))
    styles = sorted({h for filename in g.get("rendered_templates", ()) for h in _template_style_hashes(filename)})
    return PAGE_CSP.format(scripts="".join(" " + h for h in scripts), styles="".join(" " + h for h in styles))


_style_hash_cache: dict[str, tuple[float, list[str]]] = {}


def _template_style_hashes(filename: str) -> list[str]:
    path = Path(filename)
    mtime = path.stat().st_mtime
    cached = _style_hash_cache.get(filename)
    if cached is None or cached[0] != mtime:
        cached = (mtime, static_style_hashes(path.read_text(encoding="utf-8")))
        _style_hash_cache[filename] = cached
    return cached[1]


def _remember_template(sender, template, context, **extra):
    if template.filename:
        g.setdefault("rendered_templates", set()).add(template.filename)


def _set_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        if "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = page_csp(response)
        # same-origin, not no-referrer: Flask-WTF checks the Referer of a form posted over HTTPS.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for older browsers
    return response


def init_app(app: Flask) -> None:
    template_rendered.connect(_remember_template, app)
    app.after_request(_set_headers)
