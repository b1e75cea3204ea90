"""Swagger UI served by the app itself (vendored swagger-ui-dist): the docs page names no other host, the files
it loads are served, and its one inline script is allowed by hash, not by 'unsafe-inline'."""
import re
from pathlib import Path

from tests.api.web_helpers import assert_strict_page_headers, csp_of, html_of
from web import shell
from web.page_headers import csp_hash

SWAGGER = "/static/vendor/swagger-ui-5.35.0/"


def test_swagger_ui_is_served_by_the_app_and_references_no_other_host(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = html_of(response)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+", html, re.I)
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(referenced) == sorted([SWAGGER + "swagger-ui.css", SWAGGER + "swagger-ui-standalone-preset.js",
                                         SWAGGER + "swagger-ui-bundle.js"])
    for url in referenced:
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.data) > 100_000
        assert asset.mimetype == ("text/css" if url.endswith(".css") else "text/javascript")
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
    assert '"validatorUrl": null' in html  # no badge image fetched from validator.swagger.io


def test_swagger_ui_inline_script_is_allowed_by_its_hash_only(client):
    response = client.get("/api/v1/docs")
    script = re.search(r"<script>(.*?)</script>", html_of(response), re.DOTALL).group(1)
    assert csp_of(response)["script-src"] == ["'self'", csp_hash(script)]
    assert_strict_page_headers(response)


def test_vendored_files_are_recorded_with_their_licence():
    vendor = Path(shell.__file__).parent / "static" / "vendor"
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "swagger-ui-dist" in readme and "5.35.0" in readme and "Apache-2.0" in readme
    assert (vendor / "swagger-ui-5.35.0" / "LICENSE").read_text().lstrip().startswith("Apache License")
