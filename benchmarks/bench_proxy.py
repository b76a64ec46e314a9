#!/usr/bin/env python3
"""What the agent's rollout proxy adds to a request, and whether its memory stays flat.

A model server stand-in (one JSON answer written in one send, TCP_NODELAY, keep-alive) on 127.0.0.1, and
`gitops-ml rollout proxy` in front of it. An open-loop load at a fixed rate (requests start on schedule
whatever the earlier ones do, so a slow answer cannot hide the queueing it causes) goes first to the server
directly, then through the proxy; the medians and 99th percentiles are compared. The proxy's resident
memory is read from /proc at the start and after every 10 % of the requests.

    python3 benchmarks/bench_proxy.py --gitops-ml .build/release/gitops-ml [--rate 500] [--requests 100000]
"""
import argparse
import http.client
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"instances": [{"tenure_months": 3, "age": 40, "monthly_charges": 90.5}]}).encode()


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"predictions": [{"churn_probability": 0.42, "churn": false}], "model_version": "v1"}'
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.wfile.write(head + body)
        self.wfile.flush()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(port, rate, count, on_progress=None, workers=16):
    """Open loop: request i starts at start + i/rate. Latency from its scheduled start to its answer."""
    latencies = [0.0] * count
    failures = [0]
    counter = [0]
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                index = counter[0]
                counter[0] += 1
            if index >= count:
                break
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                connection.request("POST", "/predict", BODY, {"Content-Type": "application/json"})
                answer = connection.getresponse()
                answer.read()
                if answer.status != 200:
                    failures[0] += 1
            except (OSError, http.client.HTTPException):
                failures[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            latencies[index] = time.perf_counter() - due
            if on_progress and (index + 1) % max(1, count // 10) == 0:
                on_progress(index + 1)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures[0], time.perf_counter() - start


def summary(latencies):
    ordered = sorted(latencies)
    return {"median_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gitops-ml", default=".build/release/gitops-ml")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()

    upstream_port, proxy_port = free_port(), free_port()
    server = ThreadingHTTPServer(("127.0.0.1", upstream_port), Upstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = subprocess.Popen([args.gitops_ml, "rollout", "proxy", "--port", str(proxy_port), "--upstream",
                              str(upstream_port)], stdout=subprocess.PIPE, text=True)
    try:
        proxy.stdout.readline()
        warm = min(5_000, args.requests)
        load(upstream_port, args.rate, warm)
        load(proxy_port, args.rate, warm)
        direct, direct_failures, _ = load(upstream_port, args.rate, args.requests)
        memory = [(0, rss_mib(proxy.pid))]
        proxied, proxied_failures, seconds = load(
            proxy_port, args.rate, args.requests, on_progress=lambda done: memory.append((done, rss_mib(proxy.pid))))
        result = {
            "rate": args.rate, "requests": args.requests, "seconds": round(seconds, 1),
            "direct": summary(direct), "proxied": summary(proxied),
            "failures": {"direct": direct_failures, "proxied": proxied_failures},
            "added_median_ms": summary(proxied)["median_ms"] - summary(direct)["median_ms"],
            "proxy_rss_mib": [(done, round(mib, 1)) for done, mib in memory],
        }
        json.dump(result, sys.stdout, indent=1)
        print()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        server.shutdown()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
