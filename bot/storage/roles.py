"""Least privilege in PostgreSQL: who owns the schema, and what the running service may do.

Three roles:

- ``callproc_owner`` (login) owns the database and the ``callproc`` schema; migrations, backup
  and restore run as it. Not a superuser, no CREATEROLE.
- ``callproc_rw`` (no login) may read and write the tables and nothing else: no DDL. The
  migrations grant it that, for every table present and future.
- ``callproc_app`` (login) is a member of ``callproc_rw``; the service connects as it.

A superuser runs :func:`provisioning_script` once on a real server (``callproc db roles``
prints it, ready for ``psql``); the embedded server is provisioned the same way at start-up.
``pgvector`` is created here too, because only a superuser may create it.
"""

from __future__ import annotations

import secrets

OWNER = "callproc_owner"
APP = "callproc_app"
READ_WRITE = "callproc_rw"
DATABASE = "callproc"
SCHEMA = "callproc"


def cluster_statements(owner_password: str | None, app_password: str | None) -> list[str]:
    """Roles, run as a superuser in any database; each statement is idempotent."""

    def role(name: str, options: str, password: str | None) -> str:
        secret = f" PASSWORD {_literal(password)}" if password else ""
        again = f" ELSE ALTER ROLE {name}{secret};" if secret else ""  # the printed one works
        return (
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
            f"CREATE ROLE {name} {options}{secret};{again} END IF; END $$"
        )

    return [
        role(OWNER, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", owner_password),
        role(READ_WRITE, "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", None),
        role(APP, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", app_password),
        f"GRANT {READ_WRITE} TO {APP}",
    ]


def create_database_statement(database: str = DATABASE) -> str:
    """The database, owned by the owner role (not idempotent: check first)."""
    return f"CREATE DATABASE {database} OWNER {OWNER} ENCODING 'UTF8' TEMPLATE template0"


def database_statements(database: str = DATABASE) -> list[str]:
    """Run as a superuser inside the new database: pgvector, and who may connect."""
    return [
        "CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public",
        f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {database} TO {READ_WRITE}",
        f"GRANT ALL ON DATABASE {database} TO {OWNER}",
    ]


def provisioning_script(
    owner_password: str | None = None, app_password: str | None = None, database: str = DATABASE
) -> str:
    """A psql script a superuser runs once; new strong passwords unless given."""
    owner_password = owner_password or secrets.token_urlsafe(24)
    app_password = app_password or secrets.token_urlsafe(24)
    lines = [
        "-- Call Processor: roles and database. Run once as a superuser:",
        "--   callproc db roles | psql 'postgresql://postgres@DBHOST/postgres'",
        "-- Then set, for the service and for migrations (keep them out of the repository):",
        f"--   DATABASE_URL=postgresql://{APP}:{app_password}@DBHOST/{database}",
        f"--   CALLPROC_DATABASE__MIGRATION_URL=postgresql://{OWNER}:{owner_password}"
        f"@DBHOST/{database}",
        "-- and run `callproc db migrate`.",
        r"\set ON_ERROR_STOP on",
        *(f"{s};" for s in cluster_statements(owner_password, app_password)),
        f"SELECT {_literal(create_database_statement(database))} "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec",
        f"\\connect {database}",
        *(f"{s};" for s in database_statements(database)),
    ]
    return "\n".join(lines) + "\n"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
