"""A real `balise serve` subprocess on 127.0.0.1 for end-to-end tests and benchmarks."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(
        self,
        data_dir: Path,
        database_url: str,
        *,
        environ: dict[str, str] | None = None,
        **settings: object,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BALISE_")}
        env.update(
            BALISE_DATA_DIR=str(data_dir),
            BALISE_DATABASE_URL=database_url,
            BALISE_HOST="127.0.0.1",
            BALISE_PORT=str(self.port),
            **{
                f"BALISE_{k}": str(v)
                # SERVE_CPU off: the suite's servers, each with a data dir of its own, would
                # all claim the same CPU (tests/test_affinity.py runs the default).
                for k, v in {
                    "LOG_LEVEL": "WARNING",
                    "FETCH_METADATA": "0",
                    "SERVE_CPU": "off",
                    **settings,
                }.items()
            },
        )
        env.update(environ or {})
        self.env = env
        self.log = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "balise"), "serve"], env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"balise serve exited early:\n{self.output()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
            finally:
                conn.close()
        self.stop()
        raise RuntimeError(f"balise serve did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the exit code (killed after `timeout`)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log_file.close()
        return code

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
