"""The scanner page's script files (web/static/scan/): the page loads main.js as a module, which imports the
others; the service worker caches exactly those files, the layout's stylesheet and the camera's QR decoder
(vendored zxing), so the page still starts, and reads codes with the camera, without network. Its words come from the catalog in a JSON block, never from a dictionary in the scripts."""
import json
import re
from pathlib import Path

from passes.verifier import REASONS
from web.i18n import LOCALE_COOKIE

SCAN_STATIC = Path(__file__).resolve().parents[2] / "web/static/scan"
ZXING = "/static/vendor/zxing-library-0.23.0/index.min.js"  # loaded by camera.js where no BarcodeDetector reads QR


def _get(client, path):
    response = client.get(path)
    body = response.get_data(as_text=True)
    response.close()
    return response, body


def _shell(client) -> set[str]:
    """The paths the service worker caches, read from its SHELL list."""
    _, worker = _get(client, "/scan-sw.js")
    shell = re.search(r"const SHELL = \[(.*?)\];", worker, re.S).group(1)
    names = re.search(r"\.\.\.\[(.*?)\]\s*\.map", shell, re.S).group(1)
    return (set(re.findall(r'"(/[^"]+)"', shell))
            | {f"/static/scan/{name}.js" for name in re.findall(r'"(\w+)"', names)})


def _imports(module: str) -> set[str]:
    return set(re.findall(r'^(?:import|export) \{[^}]*\} from "\./(\w+\.js)";', (SCAN_STATIC / module).read_text("utf-8"), re.M))


def test_the_scanner_page_starts_main_js_as_a_module_and_preloads_the_rest(client):
    response, page = _get(client, "/scan")
    assert response.status_code == 200
    # One executed script; the other block is data (JSON), which no browser runs.
    assert re.findall(r'<script ([^>]*)>', page) == ['type="application/json" id="i18n"',
                                                     'type="module" src="/static/scan/main.js"']
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/scan/(\w+\.js)">', page)
    assert sorted(preloaded) == ["camera.js", "clock.js", "i18n.js", "queue.js", "signin.js", "store.js", "verify.js",
                                 "view.js"]
    assert '<link rel="stylesheet" href="/static/web/shell.css">' in page  # the layout's, cached by the worker


def test_every_module_the_page_imports_is_served_and_cached_by_the_service_worker(client):
    modules, todo = set(), ["main.js"]
    while todo:  # main.js and everything it imports, directly or not
        module = todo.pop()
        if module not in modules:
            modules.add(module)
            todo.extend(_imports(module))
    assert modules == {"main.js", "i18n.js", "clock.js", "store.js", "verify.js", "camera.js", "view.js", "queue.js",
                       "signin.js"}
    assert modules == {p.name for p in SCAN_STATIC.glob("*.js")} - {"scan-sw.js"}
    assert _shell(client) == {"/scan", "/static/web/shell.css", ZXING} | {f"/static/scan/{m}" for m in modules}
    assert f'new URL("../vendor/{ZXING.split("/vendor/")[1]}", import.meta.url)' in (SCAN_STATIC / "camera.js").read_text()
    for path in _shell(client) - {"/scan"}:
        response, body = _get(client, path)
        assert response.status_code == 200 and body, path
        assert response.mimetype in ("text/javascript", "text/css"), path


def test_the_modules_import_one_way_so_the_verifier_needs_no_page(client):
    assert _imports("verify.js") == set() and _imports("store.js") == set() and _imports("i18n.js") == set()
    assert _imports("view.js") == {"store.js", "i18n.js", "clock.js", "camera.js"}
    assert _imports("camera.js") == {"i18n.js"} and _imports("clock.js") == {"i18n.js"}
    assert _imports("queue.js") == {"store.js", "verify.js", "view.js", "i18n.js"}
    assert _imports("signin.js") == {"store.js", "queue.js", "view.js", "i18n.js"}
    verify = (SCAN_STATIC / "verify.js").read_text("utf-8")
    assert not re.search(r"\bdocument\.|\blocalStorage\b|\bfetch\(", verify)  # pure: no DOM, no storage, no network


def _texts(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="i18n">(.*?)</script>', page, re.S).group(1))


def test_the_scripts_words_come_from_the_catalog_in_the_pages_language(client):
    _, zh_page = _get(client, "/scan")
    zh = _texts(zh_page)
    assert (zh["lang"], zh["accept"], zh["reject"]) == ("zh", "通过", "拒绝")
    assert set(zh["reasons"]) == set(REASONS) and zh["reasons"]["revoked"] == "通行证已吊销"
    client.set_cookie(LOCALE_COOKIE, "en")
    response, en_page = _get(client, "/scan")
    en = _texts(en_page)
    assert (en["lang"], en["accept"], en["reject"]) == ("en", "ACCEPT", "REJECT")
    assert en["reasons"]["revoked"] == "Pass revoked" and en["signin_failed"] == "Sign-in failed: %(reason)s"
    assert set(en) == set(zh) and all(en[k] != zh[k] for k in zh if k not in ("lang", "reasons"))
    assert all(en["reasons"][code] != zh["reasons"][code] for code in REASONS)  # every one translated
    assert '<html lang="en">' in en_page and "Pass scanner" in en_page and "通行证查验" not in en_page
    assert response.headers["Content-Language"] == "en" and "Cookie" in response.headers["Vary"]


def test_no_script_keeps_words_of_its_own(client):
    """Chinese or English sentences in a script would be a second dictionary beside the catalog."""
    for script in SCAN_STATIC.glob("*.js"):
        text = script.read_text("utf-8")
        assert not re.search(r"[\u4e00-\u9fff]", text), script.name
    for name in ("通行证已吊销", "Pass revoked", "Sign-in failed", "ACCEPT"):
        assert all(name not in p.read_text("utf-8") for p in SCAN_STATIC.glob("*.js")), name


def test_the_scanner_keeps_its_own_strict_policy_on_the_layout(client):
    response, page = _get(client, "/scan")
    policy = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self';", "style-src 'self';", "media-src 'self' blob:",
                      "worker-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"):
        assert directive in policy
    assert "unsafe" not in policy and "sha256" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert 'href="/lang/en?next=/scan"' in page  # the layout's switch, not a page-local one
