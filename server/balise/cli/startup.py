"""What `balise serve` says once it listens: one log line, and on the first run (`--init`
created the admin API key) a short block on standard output: where it serves, the key (shown
this once), and the two next steps towards the dashboard."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

log = logging.getLogger("balise")


def listen_url(host: str, port: int) -> str:
    """The address waitress listens on, as a URL (IPv6 hosts in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def balise_command() -> str:
    """How the person started `balise`, so the next command can be pasted as it is printed."""
    started = Path(sys.argv[0])
    if started.name == "balise":
        return str(started)  # `.venv/bin/balise` from make run, a full path from systemd
    return f"{Path(sys.executable).name} -m balise"


def first_run_notice(listening: str, base_url: str, key: str) -> str:
    return "\n".join(
        [
            "",
            f"Balise is serving on {listening} (Ctrl-C stops it).",
            "",
            "First run: an admin API key was created. It is shown this once; keep it:",
            "",
            f"    {key}",
            "",
            "Next, create your dashboard account, then sign in:",
            f"    {balise_command()} users create you@example.org --role admin",
            f"    open {base_url}/dashboard/login",
            "",
        ]
    )


def announce(settings: dict[str, Any], first_key: str | None) -> None:
    listening = listen_url(settings["HOST"], settings["PORT"])
    base_url = settings["BASE_URL"]
    log.info("serving on %s%s", listening, "" if base_url == listening else f" ({base_url})")
    if first_key:
        click.echo(first_run_notice(listening, base_url, first_key))
        sys.stdout.flush()
