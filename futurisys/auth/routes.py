"""Login and logout pages."""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from futurisys.auth import bp, throttle
from futurisys.auth.access import end_this_session, start_session
from futurisys.auth.accounts import normalise_username
from futurisys.auth.forms import LoginForm, LogoutForm
from futurisys.extensions import db
from futurisys.storage.models import User, utcnow

log = logging.getLogger(__name__)
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
THROTTLED = (
    f"Trop de tentatives de connexion échouées. Réessayez dans {int(throttle.WINDOW.total_seconds() // 60)} minutes."
)


@functools.cache
def _dummy_hash(method: str) -> str:
    """A hash of no one's password, checked for unknown accounts so that they cost the same time."""
    return generate_password_hash("not-a-password-of-anyone", method=method)


def _unknown_account_check() -> bool:
    """Check a password for an account that does not exist: the same hashing time, and always False."""
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), "x")
    return False


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site (no scheme, no host, no `//` or backslash trick), else None."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: User) -> str:
    """Where a user lands after logging in without a `next`."""
    if user.role == "dpo":
        return url_for("compliance.journal")
    return url_for("admin.history") if user.role == "admin" else url_for("web.index")


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    """The login form; every attempt is counted (per device or account, and per address) before it is checked."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or home_for(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, next_url=next_url), 422 if form.errors else 200
    username = normalise_username(form.username.data)[:64]
    address = (request.remote_addr or "inconnue")[:64]
    secret = current_app.config["SECRET_KEY"]
    device = throttle.trusted_device(secret, request.cookies.get(throttle.DEVICE_COOKIE), username)
    attempt = throttle.begin(username, address, device)
    if attempt is None:
        log.warning("login refused: too many failures for the account, the device or the address")
        return render_template("auth/login.html", form=form, next_url=next_url, error=THROTTLED), 429
    user = db.session.scalar(sa.select(User).where(User.username == username))
    # An unknown account costs the same hashing time as a known one: timing does not tell which names exist.
    valid = user.check_password(form.password.data) if user else _unknown_account_check()
    if not (user and valid and user.is_active):
        return render_template("auth/login.html", form=form, next_url=next_url, error=BAD_CREDENTIALS), 401
    throttle.succeeded(attempt)
    user.last_login_at = utcnow()
    db.session.commit()
    login_user(user)
    start_session()
    response = redirect(next_url or home_for(user))
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        throttle.new_device_cookie(secret, username),
        max_age=int(throttle.DEVICE_COOKIE_AGE.total_seconds()),
        path=url_for("auth.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.post("/deconnexion")
def logout():
    """End this session, copies of its cookie included; the account's other sessions (another device) go on.

    A POST with a CSRF token, so that no link can log anyone out.
    """
    return _log_out(everywhere=False)


@bp.post("/deconnexion-partout")
def logout_everywhere():
    """End every session of the account, on every device (as a password change does)."""
    return _log_out(everywhere=True)


def _log_out(everywhere: bool):
    if not LogoutForm().validate_on_submit():
        abort(400, "Jeton de sécurité manquant ou expiré.")
    if current_user.is_authenticated:
        current_user.end_sessions() if everywhere else end_this_session(current_user)
        db.session.commit()
    logout_user()
    flash("Vous êtes déconnecté de tous vos appareils." if everywhere else "Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))
