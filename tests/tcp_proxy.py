"""A TCP proxy on 127.0.0.1 that a test cuts and restores, to take a shared server "away".

PostgreSQL and Redis are shared by everyone on the machine and must never be stopped; a test
points Balise at this proxy instead and calls `cut()` (every open connection reset, new ones
refused, as when the server is down) and `restore()` (accepting again on the same port).
"""

from __future__ import annotations

import socket
import struct
import threading
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._start_accepting()

    @classmethod
    def in_front_of(cls, url: str) -> tuple[TcpProxy, str]:
        """A proxy to the host and port of `url`, and `url` rewritten to go through it."""
        parts = urlsplit(url)
        proxy = cls(parts.hostname or "127.0.0.1", parts.port or 5432)
        user = parts.netloc.rpartition("@")[0]
        netloc = f"{user}@127.0.0.1:{proxy.port}" if user else f"127.0.0.1:{proxy.port}"
        return proxy, urlunsplit(parts._replace(netloc=netloc))

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        return listener

    def _start_accepting(self) -> None:
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut() or close() shut the listener
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._drop(sock)

    def _drop(self, sock: socket.socket, reset: bool = False) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            if reset:  # RST rather than FIN: the peer sees the connection lost
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv
        except OSError:
            pass
        sock.close()

    def cut(self) -> None:
        """Reset every connection and refuse new ones."""
        with self._lock:
            sockets = list(self._sockets)
        self._drop(self._listener)
        for sock in sockets:
            self._drop(sock, reset=True)

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        self._listener = self._listen(self.port)
        self._start_accepting()

    def close(self) -> None:
        self.cut()
