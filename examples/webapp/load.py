"""Steady load against a URL from its own process: RATE requests a second for SECONDS, each on a new
connection; writes one JSON line per request: when it was sent, the status (or the error) and the version that answered.

python load.py URL --rate 50 --seconds 30 [--out FILE]   (standard library only)
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def one(host: str, port: int, path: str) -> tuple[str, str]:
    """(status or the error's name, the version that answered)."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        conn.close()
        return str(answer.status), answer.getheader("X-Version", "")
    except OSError as exc:
        return type(exc).__name__, ""


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("url")
    args.add_argument("--rate", type=float, default=50)
    args.add_argument("--seconds", type=float, default=30)
    args.add_argument("--out")
    opts = args.parse_args()
    url = urlsplit(opts.url)
    out = open(opts.out, "w") if opts.out else sys.stdout
    lock = threading.Lock()
    started = time.time()
    threads = []
    for i in range(int(opts.rate * opts.seconds)):
        delay = started + i / opts.rate - time.time()
        if delay > 0:
            time.sleep(delay)

        def fire() -> None:
            at = time.time()
            status, version = one(url.hostname or "127.0.0.1", url.port or 80, url.path or "/")
            with lock:
                out.write(json.dumps({"t": at, "status": status, "version": version}) + "\n")
                out.flush()

        thread = threading.Thread(target=fire)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
