"""The scanner page's script files (web/static/scan/): the page loads main.js as a module, which imports the
others; the service worker caches exactly those files, so the page still starts without network."""
import re
from pathlib import Path

SCAN_STATIC = Path(__file__).resolve().parents[2] / "web/static/scan"


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
    return set(re.findall(r'^import \{[^}]*\} from "\./(\w+\.js)";', (SCAN_STATIC / module).read_text("utf-8"), re.M))


def test_the_scanner_page_starts_main_js_as_a_module_and_preloads_the_rest(client):
    response, page = _get(client, "/scan")
    assert response.status_code == 200
    assert re.findall(r'<script ([^>]*)>', page) == ['type="module" src="/static/scan/main.js"']
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/scan/(\w+\.js)">', page)
    assert sorted(preloaded) == ["queue.js", "signin.js", "store.js", "verify.js", "view.js"]


def test_every_module_the_page_imports_is_served_and_cached_by_the_service_worker(client):
    modules, todo = set(), ["main.js"]
    while todo:  # main.js and everything it imports, directly or not
        module = todo.pop()
        if module not in modules:
            modules.add(module)
            todo.extend(_imports(module))
    assert modules == {"main.js", "store.js", "verify.js", "view.js", "queue.js", "signin.js"}
    assert modules == {p.name for p in SCAN_STATIC.glob("*.js")} - {"scan-sw.js"}
    assert _shell(client) == {"/scan", "/static/scan/scan.css"} | {f"/static/scan/{m}" for m in modules}
    for path in _shell(client) - {"/scan"}:
        response, body = _get(client, path)
        assert response.status_code == 200 and body, path
        assert response.mimetype in ("text/javascript", "text/css"), path


def test_the_modules_import_one_way_so_the_verifier_needs_no_page(client):
    assert _imports("verify.js") == set() and _imports("store.js") == set()
    assert _imports("view.js") == {"store.js", "verify.js"}
    assert _imports("queue.js") == {"store.js", "verify.js", "view.js"}
    assert _imports("signin.js") == {"store.js", "queue.js", "view.js"}
    verify = (SCAN_STATIC / "verify.js").read_text("utf-8")
    assert not re.search(r"\bdocument\.|\blocalStorage\b|\bfetch\(", verify)  # pure: no DOM, no storage, no network
