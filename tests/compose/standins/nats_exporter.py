"""Stand-in for prometheus-nats-exporter: each NATS server's `/varz` numbers as gauges.

Takes the real exporter's arguments: flags (`-port=7777`, the others ignored) and the servers
as `URL` or `NAME,URL`. `GET /metrics` asks every server's `/varz` and answers each numeric
field as `gnatsd_varz_<field>{server_id="NAME"}`; a server that does not answer is left out.
Standard library only: the image has Debian's Python and nothing else.
"""

import json
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _servers(args: list[str]) -> dict[str, str]:
    servers = {}
    for arg in args:
        if arg.startswith("-"):
            continue
        name, _, url = arg.rpartition(",")
        servers[name or url] = url
    return servers


def _port(args: list[str]) -> int:
    for arg in args:
        if arg.startswith("-port="):
            return int(arg.removeprefix("-port="))
    return 7777


def _gauges(name: str, url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/varz", timeout=2) as answer:  # noqa: S310 - http only
        varz = json.load(answer)
    return [
        f'gnatsd_varz_{key}{{server_id="{name}"}} {value}'
        for key, value in varz.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def main() -> None:
    args = sys.argv[1:]
    servers = _servers(args)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            lines: list[str] = []
            for name, url in servers.items():
                try:
                    lines.extend(_gauges(name, url))
                except OSError:
                    continue
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("0.0.0.0", _port(args)), Handler).serve_forever()


if __name__ == "__main__":
    main()
