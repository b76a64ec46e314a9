#!/usr/bin/env python3
"""A stand-in for the Kubernetes API over HTTPS on 127.0.0.1, for the agent's tests (no API server can be
installed on the test machines). It checks what a real one would reject and records every request:

- every request must carry `Authorization: Bearer <token>`;
- PATCH is server-side apply only: content type application/apply-patch+yaml, `fieldManager=gitops-ml`,
  `force=true`, a body that is one object whose kind, name and namespace match the path;
- applied objects are kept with a generation that grows on change and `managedFields` naming the manager;
- a Deployment's status follows its rollout: the first read after a change is progressing; then healthy,
  unless its pod template's image ends in `:broken`, which exceeds the progress deadline;
- GET with `labelSelector=k=v[,k=v…]` lists; DELETE removes;
- errors as the API answers them, on demand: each line of LOG_FILE.faults, `METHOD STATUS [RETRY_AFTER]`
  (`PATCH 503`, `PATCH 429 1`, `LIST 500`; LIST is a GET with a label selector), answers the next such request with that status and a Status body
  (409 Conflict, 422 Invalid, 429 TooManyRequests with Retry-After, 500 InternalError, 503
  ServiceUnavailable), and is consumed.

    fake_kube_api.py CERT KEY TOKEN PORT_FILE LOG_FILE
"""
import json
import os
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, token, port_file, log_file = sys.argv[1:6]
objects = {}  # path -> object
reads = {}  # path -> reads since the last change
lock = threading.Lock()


def status_for(obj, path):
    generation = obj["metadata"]["generation"]
    replicas = obj.get("spec", {}).get("replicas", 1)
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    broken = any(c.get("image", "").endswith(":broken") for c in containers)
    reads[path] = reads.get(path, 0) + 1
    if reads[path] == 1:
        return {"observedGeneration": generation - 1, "replicas": replicas, "updatedReplicas": 0,
                "availableReplicas": replicas}
    if broken:
        return {"observedGeneration": generation, "replicas": replicas + 1, "updatedReplicas": 1,
                "availableReplicas": replicas, "unavailableReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet has timed out progressing."}]}
    return {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "availableReplicas": replicas, "readyReplicas": replicas,
            "conditions": [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}


REASONS = {409: "Conflict", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}


def take_fault(method):
    """The first fault line for `method`, consumed; None when there is none."""
    path = log_file + ".faults"
    with lock:
        try:
            lines = open(path).read().splitlines()
        except FileNotFoundError:
            return None
        for index, line in enumerate(lines):
            parts = line.split()
            if parts and parts[0] == method:
                with open(path, "w") as rest:
                    rest.write("".join(l + "\n" for i, l in enumerate(lines) if i != index))
                return int(parts[1]), (parts[2] if len(parts) > 2 else None)
    return None


def essence(obj):
    """The object as applied: no status, no fields the server sets."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in ("generation", "managedFields")}
    return json.dumps(dict({k: v for k, v in obj.items() if k != "status"}, metadata=meta), sort_keys=True)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body=None):
        with open(log_file, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "content_type": self.headers.get("Content-Type"), "body": body}) + "\n")

    def authorized(self, method=None):
        if self.headers.get("Authorization") != f"Bearer {token}":
            self.reply(401, {"kind": "Status", "message": "Unauthorized"})
            return False
        fault = take_fault(method or self.command)
        if fault:
            code, retry_after = fault
            data = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                               "reason": REASONS.get(code, "Unknown"),
                               "message": f"injected {REASONS.get(code, code)}"}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return False
        return True

    def do_PATCH(self):
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self.record(body)
        if not self.authorized():
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        if self.headers.get("Content-Type") != "application/apply-patch+yaml":
            return self.reply(415, {"message": "only server-side apply is expected"})
        if query.get("fieldManager") != ["gitops-ml"] or query.get("force") != ["true"]:
            return self.reply(422, {"message": "fieldManager=gitops-ml and force=true expected"})
        parts = url.path.strip("/").split("/")
        meta = body.get("metadata", {}) if isinstance(body, dict) else {}
        namespaced = "namespaces" in parts and body.get("kind") != "Namespace"
        if parts[-1] != meta.get("name") or (namespaced and parts[parts.index("namespaces") + 1] != meta.get("namespace")):
            return self.reply(400, {"message": "the body does not match the path"})
        with lock:
            old = objects.get(url.path)
            generation = old["metadata"]["generation"] if old else 0
            unchanged = old is not None and essence(old) == essence(body)
            meta = dict(meta, generation=generation if unchanged else generation + 1,
                        managedFields=[{"manager": "gitops-ml", "operation": "Apply"}])
            stored = dict(body, metadata=meta)
            objects[url.path] = stored
            if not unchanged:
                reads[url.path] = 0
        self.reply(200, stored)

    def do_GET(self):
        self.record()
        if not self.authorized("LIST" if "labelSelector=" in self.path else "GET"):
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        with lock:
            if "labelSelector" in query:
                wanted = [term.partition("=")[::2] for term in query["labelSelector"][0].split(",")]
                items = [o for p, o in objects.items() if p.rsplit("/", 1)[0] == url.path
                         and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted)]
                return self.reply(200, {"kind": "List", "items": items})
            obj = objects.get(url.path)
            if obj is None:
                return self.reply(404, {"kind": "Status", "message": "not found"})
            if obj.get("kind") == "Deployment":
                obj = dict(obj, status=status_for(obj, url.path))
            self.reply(200, obj)

    def do_DELETE(self):
        self.record()
        if not self.authorized():
            return
        with lock:
            gone = objects.pop(urllib.parse.urlparse(self.path).path, None)
        self.reply(200 if gone else 404, {"kind": "Status", "status": "Success" if gone else "Failure"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
