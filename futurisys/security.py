"""Security headers on every answer: a strict CSP, no framing, no sniffing, no caching of personal pages.

Also: query strings and form fields holding a NUL byte are refused (400) before any view runs: PostgreSQL cannot
store or compare one, and a filter holding one would fail inside the database.
"""

from __future__ import annotations

from flask import abort, current_app, request

# Scripts only from this origin (no inline script anywhere: templates load static/js/*). Inline styles stay
# allowed: the SVG charts carry their own <style>, Swagger UI and the gauges set style attributes, and a style
# cannot run code. data: images are Swagger UI's icons.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"
#: Blueprints and paths whose answers show personal HR data: never stored by a browser or a proxy.
PERSONAL_BLUEPRINTS = frozenset({"web", "admin", "auth"})
PERSONAL_PATHS = ("/evaluations",)


def shows_personal_data() -> bool:
    """Whether this request's answer may hold personal data (HR pages, results, uploads, admin)."""
    return request.blueprint in PERSONAL_BLUEPRINTS or request.path.startswith(PERSONAL_PATHS)


def add_security_headers(response):
    """Set the headers; an HTML answer without its own caching rule is not cached either."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:  # behind the image's proxy too: ProxyFix reads X-Forwarded-Proto
        headers["Strict-Transport-Security"] = HSTS
    if shows_personal_data() or (response.mimetype == "text/html" and "Cache-Control" not in headers):
        headers["Cache-Control"] = "no-store"
    return response


NUL_REFUSED = "Caractère nul (%00) refusé dans les paramètres ou les champs du formulaire."


def refuse_nul_bytes() -> None:
    """400 when a query parameter or form field (name or value) holds a NUL byte (uploaded files may)."""
    fields = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields.append(request.form)
    for multidict in fields:
        for name, value in multidict.items(multi=True):
            # A malformed multipart part can come without a name (None): nothing to check there.
            if "\x00" in (name or "") or "\x00" in (value or ""):
                abort(400, NUL_REFUSED)


#: Uploads of lots, read as a stream into the database: bounded by LOT_MAX_BYTES, not MAX_CONTENT_LENGTH.
LOT_UPLOADS = frozenset({"web.batch", "api.create_lot", "models.upload_dataset"})


def allow_lot_sizes() -> None:
    """Let a lot's upload be as large as LOT_MAX_BYTES (the app factory registers it before every other hook)."""
    if request.endpoint in LOT_UPLOADS and request.method == "POST":
        request.max_content_length = current_app.config["LOT_MAX_BYTES"]


def init_app(app) -> None:
    """Register the headers on every answer of `app`, and the NUL-byte check before every request."""
    app.before_request(refuse_nul_bytes)
    app.after_request(add_security_headers)
