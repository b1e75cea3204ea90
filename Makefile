# Two commands matter: `make run` (demo service on SQLite) and `make test` (SQLite, then PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# Compiled message catalogs of the web pages (committed too, so a plain `pytest` works on a fresh clone).
CATALOGS := $(patsubst %.po,%.mo,$(wildcard web/translations/*/LC_MESSAGES/messages.po))
SCREENSHOTS ?= $(or $(GREENLANE_SCREENSHOTS),$(CURDIR)/screenshots)

.PHONY: run test test-sqlite browser pdf-font pdf-tools nginx bench wrk fuzz faults clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pybabel compile -d web/translations >/dev/null
	rm -f $(VENV)/.installed-* && touch $@

# A catalog is recompiled whenever its .po changes, not only when the requirements do.
web/translations/%/LC_MESSAGES/messages.mo: web/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ -l $*

run: $(STAMP) $(CATALOGS) pdf-font
	GREENLANE_DEMO=1 $(BIN)/flask --app wsgi db upgrade
	GREENLANE_DEMO=1 $(BIN)/flask --app wsgi demo load
	GREENLANE_DEMO=1 $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

test: $(STAMP) $(CATALOGS) browser pdf-font pdf-tools nginx
	GREENLANE_SCREENSHOTS=$(SCREENSHOTS) $(BIN)/python scripts/run_tests.py; status=$$?; \
	  echo "screenshots of the pages (390x844 and 1280x900, zh and en): $(SCREENSHOTS)"; exit $$status

# Only the fault tests (Redis, PostgreSQL, SQLite, proxies, nginx, two hosts, backup drill, key rotation), on SQLite then PostgreSQL.
faults: $(STAMP) $(CATALOGS) nginx
	$(BIN)/python scripts/run_tests.py tests/faults

# tests/faults/test_nginx.py puts Debian's nginx, with deploy/greenlane-proxy.conf, in front of two app hosts.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { echo "installing Debian's nginx for the proxy test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
	  || echo "WARNING: could not install nginx; the proxy test will be skipped"; }

# The scanner page is tested in a real headless Chromium: Debian's package (Playwright only drives it).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "WARNING: could not install chromium; the browser tests will be skipped"; }

# The windscreen PDF prints Chinese: a CJK font from Debian, never fetched by the app at run time
# (or set GREENLANE_PDF_FONT to a TrueType font file).
pdf-font:
	@test -n "$$GREENLANE_PDF_FONT" || test -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || \
	  test -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc || { echo "installing Debian's fonts-wqy-microhei for the PDF passes"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
	  || echo "WARNING: could not install fonts-wqy-microhei; the PDF route will answer 503"; }

# The PDF test rasterises pages with poppler's pdftoppm and reads their text with pdftotext.
pdf-tools:
	@command -v pdftoppm >/dev/null 2>&1 || { echo "installing Debian's poppler-utils for the PDF tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
	  || echo "WARNING: could not install poppler-utils; the PDF tests will be skipped"; }

test-sqlite: $(STAMP)
	env -u DATABASE_URL -u TEST_DATABASE_URL $(BIN)/python -m pytest

bench: $(STAMP) wrk
	$(BIN)/python -m bench

# The scan benches drive both servers with Debian's wrk (a C load generator), so the generator is not the
# bottleneck it measures; without it they fall back to Python threads and say so in the results.
wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "installing Debian's wrk for the scan benches"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	  || echo "WARNING: could not install wrk; the scan benches fall back to a Python load generator"; }

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis

# A deeper fuzzing run than the bounded one inside `make test`.
fuzz: $(STAMP)
	GREENLANE_FUZZ_EXAMPLES=200 $(BIN)/python -m pytest tests/fuzz -q
