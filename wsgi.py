"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""
from futurisys import create_app

app = create_app()
