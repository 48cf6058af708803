"""Sessions that end (logout, password change, disabled account), device-cookie throttling, the `users` commands."""

from concurrent.futures import ThreadPoolExecutor
from html import unescape

import pytest
import sqlalchemy as sa

from futurisys.auth import throttle
from futurisys.storage.models import EndedSession, LoginFailure, User
from tests.payloads import RAW
from tests.support import PASSWORD, form_data, login, make_user, scalar

WRONG = "mauvais-mot-de-passe"


def replay(app, cookie: str):
    """A fresh client that presents a copied session cookie, as an attacker would."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def test_a_copied_session_cookie_dies_with_logout(app, client):
    make_user(app)
    login(client)
    cookie = client.get_cookie("session").value
    assert replay(app, cookie).get("/admin/").status_code == 200  # the copy works while the session lives
    client.post("/deconnexion")
    response = replay(app, cookie).get("/admin/", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def test_logout_ends_this_session_only_and_logout_everywhere_ends_them_all(app, client):
    make_user(app, "rh", "hr")
    login(client, "rh")
    laptop = app.test_client()
    login(laptop, "rh")
    cookie = client.get_cookie("session").value
    assert client.post("/deconnexion").status_code == 302
    assert replay(app, cookie).get("/evaluations").status_code == 302  # a copy of the logged-out cookie is dead
    assert laptop.get("/evaluations").status_code == 200  # the colleague's laptop goes on
    login(client, "rh")
    assert laptop.post("/deconnexion-partout").status_code == 302
    assert client.get("/evaluations").status_code == 302 and laptop.get("/evaluations").status_code == 302
    assert scalar(app, sa.select(sa.func.count()).select_from(EndedSession)) == 0  # the new token ends them all


def test_a_form_posted_after_its_session_ended_keeps_its_values_through_the_login(app, client, runner):
    make_user(app, "rh", "hr")
    login(client, "rh")
    runner.invoke(args=["users", "set-password", "rh", "--password", "un-autre-mot-de-passe"])
    posted = client.post("/", data={**form_data(RAW), "revenu_mensuel": "3 500,50"})
    assert posted.status_code == 302 and posted.headers["Location"].startswith("/connexion?next=/")
    response = login(client, "rh", "un-autre-mot-de-passe", follow_redirects=True)
    html = unescape(response.get_data(as_text=True))
    assert "vos saisies sont conservées" in html and 'value="3 500,50"' in html
    assert f'value="{RAW["distance_domicile_travail"]}"' in html
    assert 'value="3 500,50"' not in client.get("/").get_data(as_text=True)  # shown back once, then forgotten


def test_a_password_change_ends_open_sessions(app, client, runner):
    make_user(app, "rh", "hr")
    login(client, "rh")
    assert client.get("/evaluations").status_code == 200
    result = runner.invoke(args=["users", "set-password", "rh", "--password", "un-autre-mot-de-passe"])
    assert result.exit_code == 0 and "sessions are ended" in result.output
    assert client.get("/evaluations").status_code == 302
    assert login(client, "rh", "un-autre-mot-de-passe").status_code == 302


def test_a_disabled_account_can_no_longer_log_in(app, client, runner):
    make_user(app, "rh", "hr")
    login(client, "rh")
    result = runner.invoke(args=["users", "disable", "rh"])
    assert result.exit_code == 0 and "disabled" in result.output
    assert client.get("/evaluations").status_code == 302
    assert login(client, "rh").status_code == 401
    assert scalar(app, sa.select(User.disabled_at)) is not None


def test_users_commands_say_which_database_they_wrote_to(app, runner, db):
    created = runner.invoke(args=["users", "create", "alice", "--role", "hr", "--password", PASSWORD])
    where = db.engine.url.render_as_string(hide_password=True)
    assert created.exit_code == 0 and where in created.output
    listed = runner.invoke(args=["users", "list"])
    assert where in listed.output and "alice" in listed.output and "hr" in listed.output and "never" in listed.output
    login(app.test_client(), "alice")
    assert "UTC" in runner.invoke(args=["users", "list"]).output
    missing = runner.invoke(args=["users", "set-password", "bob", "--password", PASSWORD])
    assert missing.exit_code == 1 and "no user 'bob'" in missing.output and where in missing.output


def test_bootstrap_generates_a_first_admin_once(runner, db):
    first = runner.invoke(args=["users", "bootstrap", "--generate"])
    assert first.exit_code == 0 and "username: admin" in first.output and "users set-password admin" in first.output
    password = first.output.split("password: ")[1].split()[0]
    user = db.session.scalar(sa.select(User))
    assert user.role == "admin" and user.check_password(password) and len(password) >= 20
    # The printed command acts on this database, not on the one a new shell would use (.env or the SQLite file).
    where = db.engine.url.render_as_string(hide_password=True)
    assert f"DATABASE_URL='{where}' .venv/bin/flask --app futurisys users set-password admin" in first.output
    again = runner.invoke(args=["users", "bootstrap", "--generate"])
    assert again.exit_code == 0 and "already has accounts: no first admin created" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_bootstrap_in_the_image_uses_the_environment_or_creates_nothing(runner, db, monkeypatch):
    nothing = runner.invoke(args=["users", "bootstrap"])
    assert nothing.exit_code == 0 and "No account yet" in nothing.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    monkeypatch.setenv("ADMIN_USERNAME", "ops")
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    made = runner.invoke(args=["users", "bootstrap"])
    assert made.exit_code == 0 and "'ops'" in made.output and PASSWORD not in made.output
    assert db.session.scalar(sa.select(User)).check_password(PASSWORD)


def test_guessing_from_elsewhere_does_not_lock_out_the_real_user(app, client):
    make_user(app, "victim", "hr")
    assert login(client, "victim").status_code == 302  # the real user's browser gets a device cookie
    assert client.get_cookie(throttle.DEVICE_COOKIE, path="/connexion") is not None
    client.post("/deconnexion")
    attacker = app.test_client()
    for n in range(throttle.MAX_PER_ACCOUNT):
        assert login(attacker, "victim", WRONG, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"}).status_code == 401
    assert login(attacker, "victim", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code == 429
    assert login(client, "victim").status_code == 302  # same account, the real user's device: not locked


def test_a_device_cookie_is_limited_per_device_and_bound_to_its_account(app, client):
    make_user(app, "victim", "hr")
    make_user(app, "other", "hr")
    login(client, "victim")
    client.post("/deconnexion")
    for _ in range(throttle.MAX_PER_DEVICE):
        assert login(client, "victim", WRONG).status_code == 401
    assert login(client, "victim").status_code == 429  # this device is now limited too
    cookie = client.get_cookie(throttle.DEVICE_COOKIE, path="/connexion").value
    with app.app_context():
        assert throttle.trusted_device(app.config["SECRET_KEY"], cookie, "victim")
        assert throttle.trusted_device(app.config["SECRET_KEY"], cookie, "other") is None
        assert throttle.trusted_device(app.config["SECRET_KEY"], cookie + "x", "victim") is None
        assert throttle.trusted_device("another-secret", cookie, "victim") is None


def test_parallel_guesses_cannot_outrun_the_count(app, monkeypatch):
    make_user(app, "victim", "hr")
    checks = []
    real_check = User.check_password
    monkeypatch.setattr(User, "check_password", lambda self, password: checks.append(1) or real_check(self, password))

    def guess(n):
        return login(app.test_client(), "victim", WRONG, environ_base={"REMOTE_ADDR": f"10.1.0.{n}"}).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(30)))
    assert len(checks) <= throttle.MAX_PER_ACCOUNT
    assert statuses.count(401) == len(checks) and statuses.count(429) == 30 - len(checks)
    assert scalar(app, sa.select(sa.func.count()).select_from(LoginFailure)) == len(checks)


@pytest.mark.parametrize("cookie", ["", "garbage", "a.b.c"])
def test_a_broken_device_cookie_counts_as_none(app, client, cookie):
    make_user(app, "victim", "hr")
    client.set_cookie(throttle.DEVICE_COOKIE, cookie, path="/connexion")
    assert login(client, "victim").status_code == 302


def test_gunicorn_boot_preparation_creates_the_first_admin_when_run_sh_asks(runner, db, monkeypatch):
    monkeypatch.setenv("FIRST_ADMIN", "generate")
    result = runner.invoke(args=["data", "prepare"])
    assert result.exit_code == 0 and "username: admin" in result.output and "shown only once" in result.output
    assert db.session.scalar(sa.select(User.role)) == "admin"
