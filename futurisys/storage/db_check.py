"""Database problems said in one French line (what is wrong, where, what to do), and the database created if missing.

Every command and the boot step use `explain`, so a missing database, a stopped server, a wrong password or a schema
that was never migrated reads as one sentence instead of a traceback whose cause is on its last line.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

#: The command that brings the schema up to date, as the README writes it.
UPGRADE_COMMAND = ".venv/bin/flask --app futurisys db upgrade"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_url(instance_path: str | Path) -> str:
    """The database a command typed in a new shell uses: DATABASE_URL from the project's .env, else the SQLite file."""
    from dotenv import dotenv_values

    from futurisys.config import database_url

    given = database_url(dotenv_values(PROJECT_ROOT / ".env").get("DATABASE_URL"))
    return given or f"sqlite:///{Path(instance_path) / 'futurisys.db'}"


def command(arguments: str, url: str | URL, instance_path: str | Path) -> str:
    """`.venv/bin/flask --app futurisys ARGUMENTS`, naming the database when a new shell would use another one."""
    line = f".venv/bin/flask --app futurisys {arguments}"
    if make_url(url) == make_url(default_url(instance_path)):
        return line
    return f"DATABASE_URL='{shown(url)}' {line}"


def shown(url: str | URL) -> str:
    """`url` with its password hidden, to be printed or logged."""
    return make_url(url).render_as_string(hide_password=True)


def where(url: URL) -> str:
    """host:port of a server URL, as PostgreSQL's own tools write it."""
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def createdb_command(url: URL) -> str:
    """The `createdb` command that creates the database of `url` (options only where they are not the defaults)."""
    options = []
    if url.host:
        options += ["-h", url.host]
    if url.port and url.port != 5432:
        options += ["-p", str(url.port)]
    if url.username:
        options += ["-U", url.username]
    return " ".join(["createdb", *options, url.database or ""])


def _message(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip()


def explain(exc: BaseException, url: str | URL, instance_path: str | Path | None = None) -> str:
    """One French line saying what `exc` (a database error met on `url`) means and how to fix it.

    With the app's `instance_path`, the commands it suggests name the database when a new shell would use another.
    """
    url = make_url(url)
    text = _message(exc)
    upgrade = command("db upgrade", url, instance_path) if instance_path else UPGRADE_COMMAND
    if url.get_backend_name() == "sqlite":
        return _explain_sqlite(text, url, upgrade)
    place = where(url)
    if match := re.search(r'database "([^"]+)" does not exist', text):
        return (
            f"La base {match[1]} n'existe pas sur {place} : créez-la avec {createdb_command(url)} "
            "(./scripts/run.sh la crée lui-même)"
        )
    if match := re.search(r'(?:role|user) "([^"]+)" does not exist', text):
        return (
            f"Le rôle PostgreSQL {match[1]} n'existe pas sur {place} : créez-le "
            f"(createuser -h {url.host or 'localhost'} {match[1]}) ou changez l'utilisateur de DATABASE_URL"
        )
    if match := re.search(r'password authentication failed for user "([^"]+)"', text):
        return f"PostgreSQL sur {place} refuse le mot de passe de {match[1]} : corrigez DATABASE_URL"
    if "could not translate host name" in text:
        return f"L'hôte {url.host} de DATABASE_URL est inconnu : corrigez DATABASE_URL"
    if "Connection refused" in text or "No such file or directory" in text:
        return (
            f"PostgreSQL ne répond pas sur {place} (connexion refusée) : démarrez-le, ou corrigez l'hôte et le "
            "port de DATABASE_URL"
        )
    if "timeout expired" in text or "timed out" in text:
        return f"PostgreSQL ne répond pas sur {place} dans le délai (DB_CONNECT_TIMEOUT) : vérifiez qu'il tourne"
    if "permission denied to create database" in text:
        return (
            f"Le rôle {url.username} n'a pas le droit de créer la base {url.database} sur {place} : "
            f"créez-la avec un rôle qui le peut ({createdb_command(url.set(username='postgres'))})"
        )
    if re.search(r'relation "[^"]+" does not exist', text):
        return f"Le schéma de la base {url.database} sur {place} n'est pas à jour : lancez {upgrade}"
    return f"Erreur de la base {url.database} sur {place} : {text.splitlines()[0] if text else type(exc).__name__}"


def _explain_sqlite(text: str, url: URL, upgrade: str) -> str:
    path = url.database or ":memory:"
    if "no such table" in text:
        return f"Le schéma du fichier SQLite {path} n'est pas à jour : lancez {upgrade}"
    if "unable to open database file" in text:
        return f"Le fichier SQLite {path} ne s'ouvre pas : vérifiez que son dossier existe et accepte l'écriture"
    return f"Erreur du fichier SQLite {path} : {text.splitlines()[0] if text else 'inconnue'}"


def missing_database(exc: BaseException) -> bool:
    """Whether `exc` says the PostgreSQL database itself does not exist (the server answered)."""
    return bool(re.search(r'database "[^"]+" does not exist', _message(exc)))


def create_missing_database(url: str | URL, connect_args: dict | None = None) -> str | None:
    """Create the PostgreSQL database of `url` when it does not exist; the line to print, or None when nothing was done.

    The role of `url` creates it, through the server's `postgres` maintenance database; a database that exists, or an
    SQLite URL, is left alone. Raises the server's error when the role may not create databases.
    """
    url = make_url(url)
    if url.get_backend_name() != "postgresql":
        return None
    engine = sa.create_engine(url, connect_args=connect_args or {})
    try:
        with engine.connect():
            return None
    except sa.exc.OperationalError as exc:
        if not missing_database(exc):
            raise
    finally:
        engine.dispose()
    maintenance = url.set(database="postgres")
    admin = sa.create_engine(maintenance, isolation_level="AUTOCOMMIT", connect_args=connect_args or {})
    try:
        with admin.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    role = url.username or "(par défaut)"
    return f"La base {url.database} n'existait pas sur {where(url)} : créée par le rôle {role}."
