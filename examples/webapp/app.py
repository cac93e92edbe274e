"""A small HTTP service to deploy (standard library only): answers / with its version, /health with 200, and
/metrics in Prometheus' text format (a request-duration histogram and its process's CPU seconds).

FAIL_EVERY_10 of every 10 requests to / answer 500: 0 in a good version; the demo's bad version sets 3.
Run: PORT=8080 python app.py
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_EVERY_10 = 0
VERSION = os.environ.get("APP_VERSION", "dev")[:12]
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

_lock = threading.Lock()
_served = 0
_counts = [0] * (len(BUCKETS) + 1)
_sum = 0.0


def _observe(seconds: float) -> None:
    global _sum
    with _lock:
        _sum += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                _counts[i] += 1
        _counts[-1] += 1


def _metrics() -> str:
    with _lock:
        lines = ["# TYPE http_request_duration_seconds histogram"]
        lines += [f'http_request_duration_seconds_bucket{{le="{b}"}} {c}'
                  for b, c in zip(BUCKETS, _counts[:-1], strict=True)]
        lines += [f'http_request_duration_seconds_bucket{{le="+Inf"}} {_counts[-1]}',
                  f"http_request_duration_seconds_sum {_sum}", f"http_request_duration_seconds_count {_counts[-1]}"]
    cpu = sum(os.times()[:2])
    lines += ["# TYPE process_cpu_seconds_total counter", f"process_cpu_seconds_total {cpu}"]
    return "\n".join(lines) + "\n"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        global _served
        started = time.perf_counter()
        if self.path == "/health":
            self._answer(200, "ok\n")
        elif self.path == "/metrics":
            self._answer(200, _metrics())
        else:
            with _lock:
                _served += 1
                fail = (_served * 3) % 10 < FAIL_EVERY_10  # spread out: the 4th, 7th and 10th of every 10 with 3
            self._answer(500 if fail else 200, f"{'error' if fail else 'hello'} from {VERSION}\n")
            _observe(time.perf_counter() - started)

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Version", VERSION)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # quiet: the load would flood the log
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler)
    server.daemon_threads = True
    server.serve_forever()
