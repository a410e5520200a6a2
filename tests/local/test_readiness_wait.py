"""The wait for readiness ends when every service answers 200, and never hangs otherwise."""

import io
import re
import sys

import pytest

from funnel.local import free_port
from funnel.local.console import Console
from funnel.local.process import Backoff, ServiceProcess
from funnel.local.readiness import StartupError, wait_until_ready

# A readiness endpoint that answers 503 to its first `NOT_READY` probes, then 200.
_SERVER = """
import http.server, sys
NOT_READY = int(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    probes = 0
    def do_GET(self):
        Handler.probes += 1
        ready = Handler.probes > NOT_READY
        self.send_response(200 if ready else 503)
        self.end_headers()
        self.wfile.write(b'{"status": "ready"}' if ready else b'{"checks": {"nats": "down"}}')
    def log_message(self, *args):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _server(port: int, not_ready: int) -> ServiceProcess:
    argv = (sys.executable, "-c", _SERVER, str(port), str(not_ready))
    return ServiceProcess("web", argv, env={}, console=Console(io.StringIO()), stop_timeout=5)


async def test_waits_until_the_service_answers_200() -> None:
    """503 answers are waited through; the wait ends at the first 200."""
    port = free_port()
    server = _server(port, not_ready=2)
    server.start()
    try:
        await wait_until_ready([(server, f"http://127.0.0.1:{port}/health/ready")], within=60)
    finally:
        await server.stop()


async def test_a_service_never_ready_is_named_with_its_answer() -> None:
    """At the deadline the error names the service and what its endpoint last said."""
    port = free_port()
    server = _server(port, not_ready=10**9)
    server.start()
    try:
        with pytest.raises(StartupError) as caught:
            await wait_until_ready([(server, f"http://127.0.0.1:{port}/health/ready")], within=2)
    finally:
        await server.stop()
    (failure,) = caught.value.failures
    assert failure.service == "web"
    assert "HTTP 503" in failure.reason
    assert "nats" in failure.reason
    assert "serving" in failure.last_lines


async def test_a_service_that_keeps_dying_ends_the_wait_early() -> None:
    """A crash loop is reported with the exit status and the child's last lines."""
    crasher = ServiceProcess(
        "crasher",
        (sys.executable, "-c", "print('boom: bad config'); raise SystemExit(2)"),
        env={},
        console=Console(io.StringIO()),
        backoff=Backoff(initial=0.05, cap=0.05),
    )
    crasher.start()
    try:
        with pytest.raises(StartupError) as caught:
            await wait_until_ready(
                [(crasher, f"http://127.0.0.1:{free_port()}/health/ready")],
                within=120,
                max_exits=2,
            )
    finally:
        await crasher.stop()
    (failure,) = caught.value.failures
    assert re.search(r"exited \d+ times \(last status 2\)", failure.reason)
    assert "boom: bad config" in failure.last_lines
