"""The `balise` command: one group, its sub-commands in the modules beside this one."""

from __future__ import annotations

import click

from balise.cli import clicks, keys, server, summaries, transfer, users


@click.group()
@click.version_option(package_name="balise")
def main() -> None:
    """Balise: short links that show readers the article's summary."""


main.add_command(server.serve)
main.add_command(server.db)
main.add_command(keys.keys_group)
main.add_command(users.users_group)
main.add_command(summaries.summaries_group)
main.add_command(clicks.stats_command)
main.add_command(clicks.clicks_group)
main.add_command(transfer.export_command)
main.add_command(transfer.import_command)
