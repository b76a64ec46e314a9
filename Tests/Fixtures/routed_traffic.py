#!/usr/bin/env python3
"""A gateway and its model servers, as Prometheus sees them, for the agent's routed rollouts on a cluster
(no cluster, gateway or model server can run on the test machines).

Every 0.1 s it reads from the Kubernetes API stand-in what the agent applied: the model's HTTPRoute
(weights per track, a RequestMirror filter) and the image of each track's Deployment (`MODEL` is the stable
track, `MODEL-canary` the canary). It then serves RATE requests a second split as the route says (all to the
stable track without a route; a mirror copies every request to the canary track too), each track failing
as its image says: an image ending in `-worse` answers 30 % of its requests with 500, any other 1 %; one
ending in `-slow` answers 40 % of them above 0.25 s, any other 2 %. Counts are expected values, carried
exactly (no randomness: the same routes give the same series). It exports them on /metrics as the model
servers do, with the pods' track and namespace as labels (what the scrape configuration's relabelling of
`gitops-ml.dev/track` and the namespace gives):

    gitops_ml_requests_total{model,namespace,track,code}
    gitops_ml_request_duration_seconds_bucket{model,namespace,track,le}   (and _count)

    routed_traffic.py API_URL TOKEN CA_FILE NAMESPACE MODEL RATE PORT_FILE
"""
import json
import os
import ssl
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

api, token, cafile, namespace, model, rate, port_file = sys.argv[1:8]
rate = float(rate)
context = ssl.create_default_context(cafile=cafile)
lock = threading.Lock()
# track -> [requests, errors, over 0.1 s, over 0.25 s, over 0.5 s]
counts = {"stable": [0.0] * 5, "canary": [0.0] * 5}


def get(path):
    request = urllib.request.Request(api + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as answer:
            return json.load(answer)
    except Exception:
        return None


def image(name):
    deployment = get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
    containers = ((deployment or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", []))
    return containers[0].get("image", "") if containers else None


def shares():
    """(stable share, canary share, canary mirrored) of the requests, as the route says."""
    route = get(f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/httproutes/{model}")
    if route is None:
        return 1.0, 0.0, False
    rule = route["spec"]["rules"][0]
    weights = {"stable": 0, "canary": 0}
    for backend in rule.get("backendRefs", []):
        weights["canary" if backend["name"].endswith("-canary") else "stable"] += backend.get("weight", 1)
    mirror = any(f.get("type") == "RequestMirror" for f in rule.get("filters", []))
    total = sum(weights.values()) or 1
    return weights["stable"] / total, weights["canary"] / total, mirror


def serve():
    last = time.monotonic()
    while True:
        time.sleep(0.1)
        now = time.monotonic()
        n, last = rate * (now - last), now
        stable, canary, mirror = shares()
        images = {"stable": image(model), "canary": image(model + "-canary")}
        for track, share in (("stable", stable), ("canary", canary + (stable if mirror else 0))):
            if share == 0 or not images[track]:
                continue
            served = n * share
            errors = 0.30 if images[track].endswith("-worse") else 0.01
            slow = 0.40 if images[track].endswith("-slow") else 0.02
            with lock:
                c = counts[track]
                c[0] += served
                c[1] += served * errors
                c[2] += served * max(slow, 0.5)
                c[3] += served * slow
                c[4] += served * slow / 2


class Metrics(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        lines = ["# TYPE gitops_ml_requests_total counter",
                 "# TYPE gitops_ml_request_duration_seconds histogram"]
        with lock:
            for track, (requests, errors, over1, over25, over5) in counts.items():
                labels = f'model="{model}",namespace="{namespace}",track="{track}"'
                lines.append(f'gitops_ml_requests_total{{{labels},code="200"}} {requests - errors}')
                lines.append(f'gitops_ml_requests_total{{{labels},code="500"}} {errors}')
                for le, over in (("0.1", over1), ("0.25", over25), ("0.5", over5), ("+Inf", 0)):
                    lines.append(f'gitops_ml_request_duration_seconds_bucket{{{labels},le="{le}"}} {requests - over}')
                lines.append(f"gitops_ml_request_duration_seconds_count{{{labels}}} {requests}")
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
threading.Thread(target=serve, daemon=True).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
