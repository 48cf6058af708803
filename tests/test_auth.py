"""Accounts, login, logout, throttling, CSRF and the `users create` command."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from futurisys.auth.routes import safe_next
from futurisys.config import Config
from futurisys.storage.models import LoginFailure, User, utcnow
from tests.support import PASSWORD, login, make_app, make_user, scalar


def test_login_success_goes_to_the_history_and_records_the_time(app, client, db):
    make_user(app)
    response = login(client, "  ADMIN ")  # usernames are case-insensitive and trimmed
    assert response.status_code == 302 and response.headers["Location"] == "/admin/predictions"
    assert client.get("/admin/predictions").status_code == 200
    assert db.session.scalar(sa.select(User.last_login_at)) is not None


def test_hr_accounts_land_on_the_home_page(app, client):
    make_user(app, "rh", "hr")
    assert login(client, "rh").headers["Location"] == "/"


def test_wrong_password_and_unknown_account_get_the_same_answer(app, client, db):
    make_user(app)
    for username, password in (("admin", "mauvais-mot-de-passe"), ("inconnu", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 401
        assert "Identifiant ou mot de passe incorrect." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 2
    assert client.get("/admin/", headers={"Accept": "text/html"}).status_code == 302


def test_empty_form_is_re_rendered_with_messages(client):
    response = client.post("/connexion", data={})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Indiquez votre identifiant." in page and 'aria-invalid="true"' in page


def test_five_failures_lock_the_account_even_with_the_right_password(app, client):
    make_user(app)
    for _ in range(5):
        assert login(client, "admin", "mauvais-mot-de-passe").status_code == 401
    response = login(client, "admin", PASSWORD)
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)
    other = app.test_client()  # another address is refused too: the lock is on the account
    assert login(other, "admin", PASSWORD, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429


def test_twenty_failures_lock_the_address_for_every_account(app, client):
    make_user(app)
    for n in range(20):
        login(client, f"devine{n}", "mauvais-mot-de-passe", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert login(client, "admin", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 429
    assert login(client, "admin", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.8"}).status_code == 302


def test_old_failures_do_not_count_and_success_clears_the_account(app, client, db):
    make_user(app)
    old = utcnow() - timedelta(minutes=16)
    db.session.add_all([LoginFailure(username="admin", address="127.0.0.1", created_at=old) for _ in range(5)])
    db.session.commit()
    for _ in range(4):
        login(client, "admin", "mauvais-mot-de-passe")
    assert login(client, "admin", PASSWORD).status_code == 302
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.created_at > old))
        == 0
    )


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/admin/drift?window=7d", "/admin/drift?window=7d"),
        ("https://evil.example/admin", None),
        ("//evil.example/admin", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("admin", None),
        ("", None),
    ],
)
def test_next_must_stay_on_this_site(target, expected):
    assert safe_next(target) == expected


def test_login_follows_a_safe_next_and_ignores_others(app, client):
    make_user(app)
    assert login(client, query_string={"next": "/admin/drift"}).headers["Location"] == "/admin/drift"
    client.post("/deconnexion")
    assert login(client, query_string={"next": "https://evil.example/"}).headers["Location"] == "/admin/predictions"


def test_logout_is_a_post_that_ends_the_session(app, client):
    make_user(app)
    login(client)
    assert client.get("/deconnexion").status_code == 405
    response = client.post("/deconnexion")
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert client.get("/admin/").status_code == 302


def test_session_cookie_flags(app, client):
    make_user(app)
    cookie = login(client).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "remember_token" not in cookie


def test_csrf_is_required_on_login_and_logout(app, database_url, bundle_dir):
    make_user(app)
    csrf_app = make_app(database_url, bundle_dir, WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    assert login(client).status_code == 400
    page = client.get("/connexion").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    response = client.post("/connexion", data={"username": "admin", "password": PASSWORD, "csrf_token": token[1]})
    assert response.status_code == 302
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_users_create_with_a_prompted_password(app, runner, db):
    result = runner.invoke(args=["users", "create", "Alice", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "user 'alice' created with role admin" in result.output and PASSWORD not in result.output
    user = db.session.scalar(sa.select(User))
    assert user.username == "alice" and user.role == "admin"
    assert user.password_hash != PASSWORD and user.check_password(PASSWORD)
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")


def test_accounts_are_hashed_at_werkzeugs_default_cost_unless_configured(app, database_url, bundle_dir):
    strong = make_app(database_url, bundle_dir, PASSWORD_HASH_METHOD=Config.PASSWORD_HASH_METHOD)
    make_user(strong, "alice")
    assert scalar(strong, sa.select(User.password_hash)).startswith("scrypt:32768:8:1$")
    assert login(strong.test_client(), "alice").status_code == 302
    assert login(strong.test_client(), "nobody").status_code == 401  # the unknown-account check, at the same cost


@pytest.mark.parametrize(
    "args, message",
    [
        (["users", "create", "bob", "--role", "admin", "--password", "court"], "at least 10 characters"),
        (["users", "create", "bob", "--role", "chef", "--password", PASSWORD], "Invalid value for '--role'"),
        (["users", "create", "b o b", "--role", "hr", "--password", PASSWORD], "username must be"),
    ],
)
def test_users_create_refuses_bad_input(runner, db, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0 and message in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_users_create_refuses_duplicates_and_mismatched_confirmation(runner, db):
    assert runner.invoke(args=["users", "create", "bob", "--role", "hr", "--password", PASSWORD]).exit_code == 0
    duplicate = runner.invoke(args=["users", "create", "BOB", "--role", "admin", "--password", PASSWORD])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    mismatch = runner.invoke(args=["users", "create", "carol", "--role", "hr"], input=f"{PASSWORD}\nautre-chose-123\n")
    assert mismatch.exit_code != 0
    assert db.session.scalars(sa.select(User.username)).all() == ["bob"]
