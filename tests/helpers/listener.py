"""A port on this machine that nothing should ever connect to: it records every connection made to it
(on 127.0.0.1 and, where the machine has IPv6, on [::1]) and answers with an ad-like page, so that a
crawl that reached it would have something to store."""

from __future__ import annotations

import socket
import threading
from types import TracebackType
from typing import Self

ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
    b"<html><body><h1>LISTENER-CANARY lowongan</h1><div class='body'>LISTENER-CANARY</div></body></html>"
)


class ConnectionListener:
    def __init__(self) -> None:
        self.connections: list[tuple[str, int]] = []
        self.sockets: list[socket.socket] = []
        self.port = 0

    def __enter__(self) -> Self:
        ipv4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ipv4.bind(("127.0.0.1", 0))
        self.port = ipv4.getsockname()[1]
        self.sockets.append(ipv4)
        try:
            ipv6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            ipv6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            ipv6.bind(("::1", self.port))
            self.sockets.append(ipv6)
        except OSError:
            pass  # no IPv6 loopback here: [::1] links then fail to connect on their own
        for listening in self.sockets:
            listening.listen(64)
            threading.Thread(target=self._accept, args=(listening,), daemon=True).start()
        return self

    def _accept(self, listening: socket.socket) -> None:
        while True:
            try:
                connection, address = listening.accept()
            except OSError:
                return  # closed
            self.connections.append((str(address[0]), int(address[1])))
            try:
                connection.settimeout(2)
                connection.recv(4096)
                connection.sendall(ANSWER)
            except OSError:
                pass
            finally:
                connection.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for listening in self.sockets:
            listening.close()
