"""Brands' contact pages on 127.0.0.1, for `brands check` and `queries suggest` tests.

`PageWeb(routes)` serves each path of `routes` (path → (status, headers, body))
from a threaded HTTP server on a free loopback port and logs every request
path, so a test can count what was asked.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class PageWeb:
    """A tiny web server: fixed answers per path, every request logged."""

    def __init__(self, routes: dict[str, tuple[int, dict, bytes | str]], handler=None):
        self.routes = routes
        self.log: list[str] = []
        self.handler = handler  # handler(path_with_query) -> (status, headers, body) | None
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                web.log.append(self.path)
                answer = web.handler(self.path) if web.handler else None
                if answer is None:
                    answer = web.routes.get(urlsplit(self.path).path)
                status, headers, body = answer or (404, {}, "<h1>Not found</h1>")
                data = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                headers = {"Content-Type": "text/html; charset=utf-8", **headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> PageWeb:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
