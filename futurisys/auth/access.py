"""Who may see what: the Flask-Login settings and the role check every blueprint of people runs first."""

from __future__ import annotations

import secrets

from flask import flash, redirect, request, session, url_for
from flask_login import current_user

from futurisys.errors import error_response, wants_json
from futurisys.extensions import db, login_manager
from futurisys.storage.models import EndedSession, User

#: The session's own id (set at login): logging out ends this session, and only this one.
SESSION_ID = "sid"
#: A form posted after its session ended: kept in the session through the login, then shown back filled in.
PENDING_FORM = "pending_form"
RESTORED_ENDPOINTS = ("web.index", "web.simulation")

LOGIN_MESSAGE = "Connectez-vous pour accéder à cette page."


def configure_login_manager(app) -> None:
    """French messages, the login view, strong session protection and no remember-me cookie."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = LOGIN_MESSAGE
    login_manager.login_message_category = "info"
    login_manager.needs_refresh_message = "Reconnectez-vous pour continuer."
    # A session cookie replayed from another address or browser is dropped.
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _load_user(session_id: str) -> User | None:
    """The account of a session, if its token is still current (logout and password changes renew it)."""
    user_id, _, token = session_id.partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and token else None
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    own_id = session.get(SESSION_ID)
    if own_id and db.session.get(EndedSession, own_id) is not None:  # this session was logged out
        return None
    return user


def end_this_session(user: User) -> None:
    """Log out this session only (the caller commits); a session from before session ids ends them all."""
    own_id = session.get(SESSION_ID)
    if own_id:
        db.session.add(EndedSession(session_id=own_id, user_id=user.id))
    else:
        user.end_sessions()


def start_session() -> None:
    """Give the session just logged in its own id."""
    session[SESSION_ID] = secrets.token_urlsafe(32)


def keep_posted_form() -> None:
    """An HR form posted without a live session: its values wait in the session for the login (CSRF token left)."""
    if request.method == "POST" and request.endpoint in RESTORED_ENDPOINTS and not wants_json():
        fields = {name: value for name, value in request.form.items() if name != "csrf_token"}
        session[PENDING_FORM] = {"path": request.path, "fields": fields}


def pending_form(path: str) -> dict | None:
    """The values of a form posted to `path` before the login, once (None when there are none)."""
    pending = session.get(PENDING_FORM)
    if not pending or pending.get("path") != path:
        return None
    session.pop(PENDING_FORM)
    return pending["fields"]


def _unauthorized():
    """Anonymous visitor: 401 JSON for API clients, otherwise a redirect to the login page with `next`."""
    if wants_json():
        return error_response(401, "Authentification requise.")
    keep_posted_form()
    flash(LOGIN_MESSAGE, "info")
    # A form posted to a what-if comes back on its evaluation's page, where the what-if form is.
    target = request.full_path if request.query_string else request.path
    if request.method == "POST" and request.endpoint == "web.simulation":
        target = target.removesuffix("/simulation")
    return redirect(url_for("auth.login", next=target))


def refuse_unless_role(*roles: str):
    """None when the current user has one of `roles`; else the 401 / redirect or 403 response to return."""
    if not current_user.is_authenticated:
        return _unauthorized()
    if current_user.role not in roles:
        return error_response(403, "Accès refusé : votre rôle ne permet pas d'ouvrir cette page.")
    return None
