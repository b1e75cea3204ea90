"""gunicorn settings for `make run`; override with GUNICORN_CMD_ARGS or your own file in production."""
import os

bind = os.environ.get("GREENLANE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GREENLANE_WORKERS", "2"))
threads = int(os.environ.get("GREENLANE_THREADS", "4"))
timeout = 30
graceful_timeout = 20
accesslog = "-"
# No query strings in the access log: they can carry search terms such as identity numbers.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
