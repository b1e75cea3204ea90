"""Helpers for the tests of HTML pages: the body of a page, its CSP as a dict, the strict headers."""


def html_of(response) -> str:
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def csp_of(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def assert_strict_page_headers(response):
    csp = csp_of(response)
    assert csp["default-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def csrf_token_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    import re
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str, *, next_url: str | None = None):
    """Sign in through the real page (CSRF token included); returns the POST's response."""
    page = client.get("/signin")
    data = {"csrf_token": csrf_token_of(html_of(page)), "username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post("/signin", data=data)


def post_form(client, url: str, data: dict, *, page_url: str | None = None):
    """POST a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_token_of(html_of(client.get(page_url or url)))
    return client.post(url, data={"csrf_token": token, **data})
