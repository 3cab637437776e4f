from __future__ import annotations

import socket
import urllib.request
from http.server import BaseHTTPRequestHandler

from fixloop.integrations.loopback import LoopbackHTTPServer


class Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_serves_on_loopback_and_frees_the_port() -> None:
    server = LoopbackHTTPServer(Hello, name="hello")
    assert server.url == f"http://127.0.0.1:{server.port}"
    server.start()
    with urllib.request.urlopen(server.url, timeout=10) as reply:
        assert reply.read() == b"hello"
    server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", server.port)) != 0  # nothing listens any more


def test_a_server_never_started_stops_without_hanging() -> None:
    server = LoopbackHTTPServer(Hello, name="idle")
    server.stop()  # shutdown() on a server that never served would block forever
    server.stop()
