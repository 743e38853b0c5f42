"""`balise serve` and `balise db upgrade`: run the service, migrate its database."""

from __future__ import annotations

import gc
import logging
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from balise.accounts import keys
from balise.analytics import storeproc
from balise.cli import affinity, serving, startup
from balise.cli.common import database_failure, make_directories, setup_logging
from balise.cli.common import settings as load_settings
from balise.cli.dispatch import LoopDispatcher
from balise.db import make_engine, upgrade
from balise.errors import Problem

log = logging.getLogger("balise")


@click.command()
@click.option("--init", is_flag=True, help="On a database with no API key, create and print one.")
def serve(init: bool) -> None:
    """Migrate the database, then serve with waitress until SIGTERM or Ctrl-C (which let
    requests in flight finish, for BALISE_DRAIN_TIMEOUT seconds at most).

    What stops it from starting (a directory it cannot make, a database that does not answer,
    an address it cannot listen on) is said in one line, and it exits 1."""
    from balise import create_app
    from balise.web.context import state

    settings = load_settings()
    setup_logging(settings["LOG_LEVEL"])
    make_directories(settings)
    # Before any thread starts, so that every thread of the process runs there.
    cpus = affinity.pin(settings["SERVE_CPU"], settings["DATA_DIR"])
    _migrate(settings["DATABASE_URL"])
    app = create_app()
    try:
        if settings["CLICK_STORE"] == "process":  # the request threads keep the GIL to themselves
            storeproc.start(
                state(app).services["clicks"],
                settings["DATABASE_URL"],
                settings["GEOIP_DB"],
                settings["LOG_LEVEL"],
                cpus,
            )
        # Pages the slug cache holds ready are answered on waitress's loop thread, the rest by
        # its worker threads (cli/dispatch.py).
        dispatcher = LoopDispatcher(state(app).services["reader"].ready)
        dispatcher.set_thread_count(settings["THREADS"])
        state(app).services["dispatch"] = dispatcher
        server = _listen(app, dispatcher, settings)
        # Only once it listens: a start that fails leaves no key that nobody was shown.
        key = _first_key(state(app).engine) if init else None

        # What exists now (the app, modules, templates) lives as long as the process: kept out
        # of the collector's full passes, which held the GIL about twice as long with it
        # (README, Performance: a million links).
        gc.collect()
        gc.freeze()
        startup.announce(settings, key)
        serving.run(server, settings["DRAIN_TIMEOUT"])
    finally:
        state(app).shutdown()  # stores the buffered clicks
        log.info("stopped")


def _migrate(url: str, revision: str = "head") -> None:
    """Migrate the database to `revision`; one line when it does not answer."""
    engine = make_engine(url)
    try:
        upgrade(engine, revision)
    except DBAPIError as exc:
        raise database_failure(url, exc) from None
    finally:
        engine.dispose()


def _listen(app: Any, dispatcher: LoopDispatcher, settings: dict[str, Any]) -> Any:
    """Waitress's server, bound to BALISE_HOST and BALISE_PORT; one line when it cannot be."""
    from waitress.server import create_server

    try:
        return create_server(
            app,
            _dispatcher=dispatcher,
            host=settings["HOST"],
            port=settings["PORT"],
            threads=settings["THREADS"],
            ident="balise",
            # Waitress strips X-Forwarded-* unless told otherwise; ProxyFix (create_app) reads
            # them.
            clear_untrusted_proxy_headers=not settings["TRUSTED_PROXIES"],
        )
    except OSError as exc:  # in use, not this machine's address, a port it may not open
        reason = exc.strerror or str(exc)
    except ValueError:  # waitress could not resolve the host
        reason = f"BALISE_HOST={settings['HOST']!r} is not a name or address of this machine"
    where = startup.listen_url(settings["HOST"], settings["PORT"])
    raise click.ClickException(
        f"cannot listen on {where} ({reason}): set BALISE_HOST and BALISE_PORT to an address "
        "this machine has and a port nothing else uses"
    )


def _first_key(engine: Any) -> str | None:
    """An admin key when the database has none (shown once the server listens), else None."""
    with engine.begin() as conn:
        if keys.count_keys(conn):
            return None
        try:
            _key, plaintext = keys.create_key(conn, "admin", "admin")
        except Problem:
            return None  # another instance created it first
    return plaintext


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to the configured database."""
    values = load_settings()
    make_directories(values)
    _migrate(values["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")
