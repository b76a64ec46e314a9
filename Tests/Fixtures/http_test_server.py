#!/usr/bin/env python3
"""A loopback HTTP server for tests: echoes requests as JSON and simulates slow, failing and
redirecting endpoints. Prints its port on the first line of stdout, then serves until killed.

  GET|POST|PUT|PATCH|DELETE /echo   -> 200 {"method", "path", "headers", "body"}
  /status/N                         -> status N
  /slow?seconds=S                   -> waits S seconds, then 200
  /redirect?to=URL                  -> 302 to URL
  /big?bytes=N                      -> N bytes of 'x'

With `--tls CERT KEY` it serves HTTPS.
"""
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/echo":
            payload = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
            self._send(200, json.dumps(payload).encode(), {"Content-Type": "application/json", "X-Test": "yes"})
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), b"status")
        elif url.path == "/slow":
            time.sleep(float(query.get("seconds", ["5"])[0]))
            self._send(200, b"slow")
        elif url.path == "/redirect":
            self._send(302, b"", {"Location": query["to"][0]})
        elif url.path == "/big":
            self._send(200, b"x" * int(query["bytes"][0]))
        else:
            self._send(404, b"not found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if len(sys.argv) == 4 and sys.argv[1] == "--tls":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[2], sys.argv[3])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()
