"""Who may see what: the Flask-Login settings and the role check every blueprint of people runs first."""

from __future__ import annotations

import secrets

from flask import flash, redirect, request, url_for
from flask_login import current_user

from futurisys.errors import error_response, wants_json
from futurisys.extensions import db, login_manager
from futurisys.models import User

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
    return user if user is not None and secrets.compare_digest(user.session_token, token) else None


def _unauthorized():
    """Anonymous visitor: 401 JSON for API clients, otherwise a redirect to the login page with `next`."""
    if wants_json():
        return error_response(401, "Authentification requise.")
    flash(LOGIN_MESSAGE, "info")
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


def refuse_unless_role(*roles: str):
    """None when the current user has one of `roles`; else the 401 / redirect or 403 response to return."""
    if not current_user.is_authenticated:
        return _unauthorized()
    if current_user.role not in roles:
        return error_response(403, "Accès refusé : votre rôle ne permet pas d'ouvrir cette page.")
    return None
