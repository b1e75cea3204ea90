"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""
from factory import create_app

app = create_app()
