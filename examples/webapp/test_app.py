"""The example service's own tests (unittest, standard library only): the pipeline's test stage runs them."""

from __future__ import annotations

import threading
import unittest
import urllib.request
from http.server import ThreadingHTTPServer

import app


class ServiceTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), app.Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def tearDown(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def get(self, path: str) -> tuple[int, str]:
        with urllib.request.urlopen(self.url + path, timeout=5) as answer:
            return answer.status, answer.read().decode()

    def test_health_answers_ok(self) -> None:
        self.assertEqual(self.get("/health"), (200, "ok\n"))

    def test_metrics_count_the_requests_served(self) -> None:
        self.get("/health")  # not counted: only / is
        self.get("/")
        status, text = self.get("/metrics")
        self.assertEqual(status, 200)
        self.assertIn('http_request_duration_seconds_bucket{le="+Inf"}', text)
        self.assertIn("process_cpu_seconds_total", text)


if __name__ == "__main__":
    unittest.main()
