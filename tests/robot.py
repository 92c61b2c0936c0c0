"""A group robot (WeCom-style webhook) on 127.0.0.1 for the sending tests: it records every
body it gets and answers as told."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Robot:
    status: int = 200
    answer: str = '{"errcode": 0, "errmsg": "ok"}'
    bodies: list[dict[str, object]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def robot() -> Iterator[tuple[str, Robot]]:
    """(its URL, with a key that must never be printed; what it got)."""
    bot = Robot()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers.get("Content-Length", "0"))
            bot.bodies.append(json.loads(self.rfile.read(n)))
            bot.paths.append(self.path)
            data = bot.answer.encode()
            self.send_response(bot.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cgi-bin/webhook/send?key=SECRETKEY", bot
    httpd.shutdown()
    httpd.server_close()
