"""The `balise` command: serve, database migrations, API keys."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy import Connection

from balise import config, keys
from balise.db import make_engine, upgrade
from balise.errors import Problem

log = logging.getLogger("balise")


def _settings() -> dict[str, Any]:
    try:
        return config.load()
    except config.SettingError as exc:
        raise click.UsageError(str(exc)) from None


@contextmanager
def _connection(*, write: bool) -> Iterator[Connection]:
    """One connection for a command, in a transaction when it writes; engine disposed after."""
    engine = make_engine(_settings()["DATABASE_URL"])
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        stream=sys.stderr,
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group()
@click.version_option(package_name="balise")
def main() -> None:
    """Balise: short links that show readers the article's summary."""


@main.command()
@click.option("--init", is_flag=True, help="On a database with no API key, create and print one.")
def serve(init: bool) -> None:
    """Migrate the database, then serve with waitress until SIGTERM or Ctrl-C."""
    from waitress.server import create_server

    from balise import create_app
    from balise.web.context import state

    settings = _settings()
    _setup_logging(settings["LOG_LEVEL"])
    engine = make_engine(settings["DATABASE_URL"])
    upgrade(engine)
    if init:
        _first_key(engine)
    engine.dispose()
    app = create_app()
    server = create_server(
        app,
        host=settings["HOST"],
        port=settings["PORT"],
        threads=settings["THREADS"],
        ident="balise",
        # Waitress strips X-Forwarded-* unless told otherwise; ProxyFix (create_app) reads them.
        clear_untrusted_proxy_headers=not settings["TRUSTED_PROXIES"],
    )

    def stop(signum: int, _frame: Any) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving %s on http://%s:%s", settings["BASE_URL"], settings["HOST"], settings["PORT"])
    try:
        server.run()
    finally:
        server.close()
        state(app).shutdown()
        log.info("stopped")


def _first_key(engine: Any) -> None:
    with engine.begin() as conn:
        if keys.count_keys(conn):
            return
        try:
            _key, plaintext = keys.create_key(conn, "admin", "admin")
        except Problem:
            return  # another instance created it first
    click.echo("First run: an admin API key was created. It is shown this once; keep it:")
    click.echo(plaintext)
    sys.stdout.flush()


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    engine = make_engine(_settings()["DATABASE_URL"])
    try:
        upgrade(engine, revision)
    finally:
        engine.dispose()
    click.echo(f"database at {revision}")


@main.group("keys")
def keys_group() -> None:
    """API keys (viewers read, editors manage links, admins also manage keys)."""


@keys_group.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(keys.ROLES), default="editor", show_default=True)
def keys_create(name: str, role: str) -> None:
    """Create a key; its plaintext is the last line of output, shown once."""
    with _connection(write=True) as conn:
        try:
            key, plaintext = keys.create_key(conn, name, role)
        except Problem as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"created {key.role} key '{key.name}' ({key.prefix}...)")
    click.echo(plaintext)


@keys_group.command("list")
def keys_list() -> None:
    """List keys (never their secret)."""
    with _connection(write=False) as conn:
        found = keys.list_keys(conn)
    if not found:
        click.echo("no API keys")
    for key in found:
        status = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        click.echo(f"{key.name}\t{key.role}\t{key.prefix}...\t{status}\tlast used {used}")


@keys_group.command("revoke")
@click.argument("name")
def keys_revoke(name: str) -> None:
    """Revoke a key by name; requests with it answer 401 from then on."""
    with _connection(write=True) as conn:
        try:
            keys.revoke_key(conn, name)
        except Problem as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"revoked '{name}'")


from balise.cli_users import users_group  # noqa: E402 - after main exists: it imports cli

main.add_command(users_group)

from balise.cli_clicks import clicks_group, stats_command  # noqa: E402 - needs main defined
from balise.cli_summaries import summaries_group  # noqa: E402 - registers on the group above

main.add_command(summaries_group)
main.add_command(stats_command)
main.add_command(clicks_group)
