"""`balise users ...`: dashboard accounts (create, list, disable, enable, set-password)."""

from __future__ import annotations

import sys

import click

from balise.accounts import keys, users
from balise.cli.common import check_database, connection
from balise.errors import Problem


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _fail(exc: Problem) -> click.ClickException:
    errors = getattr(exc, "errors", None)
    if errors:
        return click.ClickException("; ".join(f"{e['field']} {e['message']}" for e in errors))
    return click.ClickException(exc.detail)


@click.group("users")
def users_group() -> None:
    """Dashboard accounts (viewers read, editors manage links, admins also manage keys)."""


@users_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(keys.ROLES), required=True)
@click.option("--lang", type=click.Choice(users.LANGS), default=None, help="Dashboard language.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, role: str, lang: str | None, password_stdin: bool) -> None:
    """Create an account; the password is prompted for (twice) unless --password-stdin."""
    check_database()
    password = _read_password(password_stdin)
    with connection(write=True) as conn:
        try:
            user = users.create_user(conn, email, password, role, lang=lang)
        except Problem as exc:
            raise _fail(exc) from None
    click.echo(f"created {user.role} account {user.email}")


@users_group.command("list")
def users_list() -> None:
    """List accounts (never their password hash)."""
    with connection(write=False) as conn:
        found = users.list_users(conn)
    if not found:
        click.echo("no accounts")
    for user in found:
        status = "disabled" if user.disabled else "active"
        lang = user.lang or "auto"
        click.echo(
            f"{user.email}\t{user.role}\t{lang}\t{status}\tcreated {user.created_at:%Y-%m-%d}"
        )


def _switch(email: str, disabled: bool) -> None:
    with connection(write=True) as conn:
        try:
            user = users.set_disabled(conn, users.require_user(conn, email), disabled)
        except Problem as exc:
            raise _fail(exc) from None
    click.echo(f"{'disabled' if user.disabled else 'enabled'} {user.email}")


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Disable an account: it cannot sign in, its sessions end, its API keys stop working."""
    _switch(email, True)


@users_group.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    _switch(email, False)


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Replace an account's password; its open sessions are signed out."""
    with connection(write=False) as conn:
        if users.get_user_by_email(conn, email) is None:
            raise click.ClickException(f"No account for '{email}'.")
    password = _read_password(password_stdin)
    with connection(write=True) as conn:
        try:
            user = users.set_password(conn, users.require_user(conn, email), password)
        except Problem as exc:
            raise _fail(exc) from None
    click.echo(f"password changed for {user.email}")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(keys.ROLES))
def users_set_role(email: str, role: str) -> None:
    """Change an account's role; its API keys never act above it."""
    with connection(write=True) as conn:
        try:
            user = users.set_role(conn, users.require_user(conn, email), role)
        except Problem as exc:
            raise _fail(exc) from None
    click.echo(f"{user.email} is now {user.role}")
