#!/usr/bin/env python3
"""Serves the churn model over HTTP. Standard library only.

    GET  /healthz   liveness          GET  /readyz   readiness (model loaded)
    POST /predict   {"instances": [{...customer...}]} -> {"predictions": [{"churn_probability", "churn"}]}
    GET  /metrics   Prometheus text format: requests, errors, latency histogram, model info

    python3 serve.py [--port 8080] [--host 127.0.0.1] [--model model/model.json] [--threshold 0.5]
"""
import argparse
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from model_lib import CATEGORICAL, load, score

BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}
        self.latency_counts = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.predictions = 0

    def record(self, path, status, seconds, predictions=0):
        with self.lock:
            key = (path, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            if path == "/predict":
                index = next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))
                self.latency_counts[index] += 1
                self.latency_sum += seconds
                self.predictions += predictions

    def render(self, version):
        with self.lock:
            lines = [
                "# HELP model_requests_total HTTP requests by path and status.",
                "# TYPE model_requests_total counter",
            ]
            for (path, status), count in sorted(self.requests.items()):
                lines.append(f'model_requests_total{{path="{path}",status="{status}"}} {count}')
            lines += [
                "# HELP model_predictions_total Instances scored.",
                "# TYPE model_predictions_total counter",
                f"model_predictions_total {self.predictions}",
                "# HELP model_request_duration_seconds Latency of /predict.",
                "# TYPE model_request_duration_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip(BUCKETS + ["+Inf"], self.latency_counts):
                cumulative += count
                lines.append(f'model_request_duration_seconds_bucket{{le="{bound}"}} {cumulative}')
            lines.append(f"model_request_duration_seconds_sum {self.latency_sum}")
            lines.append(f"model_request_duration_seconds_count {cumulative}")
            lines += ["# HELP model_info The model being served.", "# TYPE model_info gauge",
                      f'model_info{{version="{version}"}} 1']
            return "\n".join(lines) + "\n"


def make_handler(model, threshold, stats, version):
    required = model["numeric"] + model["categorical"]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def setup(self):
            super().setup()
            # Answers go out at once: no waiting for an ACK between two small writes on a kept-alive connection.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def send(self, status, payload, content_type="application/json"):
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            # Head and body in one write (end_headers would send the head alone).
            self._headers_buffer.append(b"\r\n")
            self.wfile.write(b"".join(self._headers_buffer) + body)
            self._headers_buffer = []

        def do_GET(self):
            started = time.monotonic()
            if self.path == "/healthz":
                self.send(200, {"status": "ok"})
            elif self.path == "/readyz":
                self.send(200, {"status": "ready", "version": version})
            elif self.path == "/metrics":
                self.send(200, stats.render(version).encode(), "text/plain; version=0.0.4")
            else:
                self.send(404, {"error": "not found"})
            stats.record(self.path, self.status_code(), time.monotonic() - started)

        def status_code(self):
            return getattr(self, "_status", 200)

        def send_response(self, code, message=None):
            self._status = code
            super().send_response(code, message)

        def do_POST(self):
            started = time.monotonic()
            if self.path != "/predict":
                self.send(404, {"error": "not found"})
                stats.record(self.path, 404, time.monotonic() - started)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                instances = request["instances"] if isinstance(request, dict) and "instances" in request else [request]
                results = []
                for instance in instances:
                    missing = [name for name in required if name not in instance]
                    if missing:
                        raise ValueError(f"missing fields: {', '.join(missing)}")
                    for name in model["categorical"]:
                        if str(instance[name]) not in CATEGORICAL[name]:
                            raise ValueError(f"{name}: unknown value {instance[name]!r}")
                    probability = score(instance, model)
                    results.append({"churn_probability": round(probability, 6), "churn": probability >= threshold})
                self.send(200, {"predictions": results, "model_version": version})
                stats.record("/predict", 200, time.monotonic() - started, len(results))
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
                self.send(400, {"error": str(error)})
                stats.record("/predict", 400, time.monotonic() - started)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    # The agent's local target and the generated Deployment both say where to listen and what to serve.
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--model", default=os.environ.get("GITOPS_ML_MODEL_PATH", "model/model.json"))
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--version", default=os.environ.get("GITOPS_ML_MODEL_VERSION", "dev"))
    args = parser.parse_args()
    model = load(args.model)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model, args.threshold, Stats(), args.version))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
