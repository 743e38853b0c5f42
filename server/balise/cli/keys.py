"""`balise keys ...`: API keys from the command line (create, list, revoke)."""

from __future__ import annotations

import click

from balise.accounts import keys
from balise.cli.common import connection
from balise.errors import Problem


@click.group("keys")
def keys_group() -> None:
    """API keys (viewers read, editors manage links, admins also manage keys)."""


@keys_group.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(keys.ROLES), default="editor", show_default=True)
def keys_create(name: str, role: str) -> None:
    """Create a key; its plaintext is the last line of output, shown once."""
    with connection(write=True) as conn:
        try:
            key, plaintext = keys.create_key(conn, name, role)
        except Problem as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"created {key.role} key '{key.name}' ({key.prefix}...)")
    click.echo(plaintext)


@keys_group.command("list")
def keys_list() -> None:
    """List keys (never their secret)."""
    with connection(write=False) as conn:
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
    with connection(write=True) as conn:
        try:
            keys.revoke_key(conn, name)
        except Problem as exc:
            raise click.ClickException(exc.detail) from None
    click.echo(f"revoked '{name}'")
