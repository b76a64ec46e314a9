#!/usr/bin/env python3
"""A stand-in for the Kubernetes API over HTTPS on 127.0.0.1, for the agent's tests (no API server can be
installed on the test machines). It answers as the API documentation says the real one does, and records
every request:

- every request must carry `Authorization: Bearer <token>` (401 otherwise);
- discovery: `/api/v1` and `/apis/<group>/<version>` answer an APIResourceList of the built-in kinds below
  and of the CustomResourceDefinitions applied; a group version or a kind not served is 404;
- a namespaced object in a namespace that does not exist is 404 NotFound (`default` and `kube-system` exist);
- PATCH application/apply-patch+yaml is server-side apply: `fieldManager=gitops-ml`, `force=true`, one
  object whose kind, name and namespace match the path; `dryRun=All` validates and answers without storing;
  a Deployment's `spec.selector` cannot change (422 Invalid, "field is immutable");
- PATCH application/merge-patch+json with another `fieldManager` is someone else's edit (kubectl scale, an
  HPA controller): merged in, its fields owned by that manager; a later apply keeps them unless the applied
  object sets them (forced: then they go back to gitops-ml);
- objects carry a uid, a resourceVersion that changes with every write, a generation that grows on change
  and `managedFields` naming their managers;
- a Deployment's status follows its rollout: the first read after a change is progressing; then healthy,
  unless its pod template's image ends in `:broken`, which exceeds the progress deadline, or in `:stuck`,
  which stays progressing; a custom resource's
  Ready condition is False at the first read after a change, then True;
- GET with `labelSelector=k=v[,k=v…]` lists; DELETE removes, honouring DeleteOptions preconditions (uid,
  resourceVersion: 409 Conflict when they differ);
- errors as the API answers them, on demand: each line of LOG_FILE.faults, `METHOD STATUS [RETRY_AFTER]`
  (`PATCH 503`, `PATCH 429 1`, `LIST 500`, `LIST 403`, `DELETE 500`; LIST is a GET with a label selector),
  answers the next such request with that status and a Status body (403 Forbidden, 409 Conflict, 422
  Invalid, 429 TooManyRequests with Retry-After, 500 InternalError, 503 ServiceUnavailable), and is consumed.

    fake_kube_api.py CERT KEY TOKEN PORT_FILE LOG_FILE
"""
import copy
import json
import os
import ssl
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, token, port_file, log_file = sys.argv[1:6]
objects = {}  # path -> object
foreign = {}  # path -> {dotted field: manager} for fields another manager set
reads = {}  # path -> reads since the last change
lock = threading.Lock()
version = [100]

# groupVersion -> plural -> (kind, namespaced)
BUILTIN = {
    "v1": {"namespaces": ("Namespace", False), "serviceaccounts": ("ServiceAccount", True),
           "configmaps": ("ConfigMap", True), "secrets": ("Secret", True), "services": ("Service", True),
           "persistentvolumeclaims": ("PersistentVolumeClaim", True), "pods": ("Pod", True)},
    "apps/v1": {"deployments": ("Deployment", True), "statefulsets": ("StatefulSet", True),
                "daemonsets": ("DaemonSet", True)},
    "batch/v1": {"jobs": ("Job", True), "cronjobs": ("CronJob", True)},
    "autoscaling/v2": {"horizontalpodautoscalers": ("HorizontalPodAutoscaler", True)},
    "policy/v1": {"poddisruptionbudgets": ("PodDisruptionBudget", True)},
    "networking.k8s.io/v1": {"networkpolicies": ("NetworkPolicy", True), "ingresses": ("Ingress", True)},
    "rbac.authorization.k8s.io/v1": {"roles": ("Role", True), "rolebindings": ("RoleBinding", True),
                                     "clusterroles": ("ClusterRole", False),
                                     "clusterrolebindings": ("ClusterRoleBinding", False)},
    "apiextensions.k8s.io/v1": {"customresourcedefinitions": ("CustomResourceDefinition", False)},
}
REASONS = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable"}


def next_version():
    version[0] += 1
    return str(version[0])


for name in ("default", "kube-system"):
    objects[f"/api/v1/namespaces/{name}"] = {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "uid": str(uuid.uuid4()), "resourceVersion": next_version(), "generation": 1}}


def served():
    """groupVersion -> plural -> (kind, namespaced): the built-in kinds and those of the CRDs applied."""
    table = copy.deepcopy(BUILTIN)
    for path, obj in objects.items():
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec", {})
        names = spec.get("names", {})
        for v in spec.get("versions", []):
            table.setdefault(f"{spec.get('group')}/{v.get('name')}", {})[names.get("plural")] = (
                names.get("kind"), spec.get("scope") == "Namespaced")
    return table


def parse(path):
    """(groupVersion, rest) of an API path, or None."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        return "v1", parts[2:]
    if parts[0] == "apis" and len(parts) >= 3:
        return f"{parts[1]}/{parts[2]}", parts[3:]
    return None


def resolve(path):
    """(groupVersion, kind, namespaced, namespace, name) of a resource path; or an error (code, message)."""
    parsed = parse(path)
    if parsed is None:
        return None, (404, "the server could not find the requested resource")
    gv, rest = parsed
    table = served()
    if gv not in table:
        return None, (404, "the server could not find the requested resource")
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or rest[0] not in table[gv]:
        return None, (404, "the server could not find the requested resource")
    kind, namespaced = table[gv][rest[0]]
    if namespaced != (namespace is not None):
        return None, (404, "the server could not find the requested resource")
    return (gv, kind, namespaced, namespace, rest[1] if len(rest) > 1 else None), None


def status_for(obj, path):
    generation = obj["metadata"]["generation"]
    replicas = obj.get("spec", {}).get("replicas", 1)
    containers = obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    broken = any(c.get("image", "").endswith(":broken") for c in containers)
    stuck = any(c.get("image", "").endswith(":stuck") for c in containers)
    reads[path] = reads.get(path, 0) + 1
    if reads[path] == 1 or stuck:
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


def custom_status(obj, path):
    reads[path] = reads.get(path, 0) + 1
    ready = reads[path] > 1
    return {"observedGeneration": obj["metadata"]["generation"],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "reason": "Ready" if ready else "Reconciling", "message": "reconciling"}]}


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


SERVER_FIELDS = ("generation", "managedFields", "uid", "resourceVersion", "creationTimestamp")


def essence(obj):
    """The object as written: no status, no fields the server sets."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in SERVER_FIELDS}
    return json.dumps(dict({k: v for k, v in obj.items() if k != "status"}, metadata=meta), sort_keys=True)


def leaves(value, prefix=""):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    else:
        yield prefix, value


def get_field(obj, dotted):
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None, False
        obj = obj[part]
    return obj, True


def set_field(obj, dotted, value):
    parts = dotted.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


def merge(target, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(target.get(k), dict):
            merge(target[k], v)
        elif v is None:
            target.pop(k, None)
        else:
            target[k] = v


def managed(path):
    managers = ["gitops-ml"] + sorted(set(foreign.get(path, {}).values()))
    return [{"manager": m, "operation": "Apply" if m == "gitops-ml" else "Update"} for m in managers]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body, retry_after=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def failure(self, code, message, retry_after=None):
        self.reply(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                          "reason": REASONS.get(code, "Unknown"), "message": message}, retry_after)

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
            self.failure(code, f"injected {REASONS.get(code, code)}", retry_after)
            return False
        return True

    def body(self):
        length = int(self.headers.get("Content-Length", 0))
        return json.loads(self.rfile.read(length) or b"null")

    def do_PATCH(self):
        body = self.body()
        self.record(body)
        if not self.authorized():
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        with lock:
            target, error = resolve(url.path)
            if error:
                return self.failure(*error)
            gv, kind, namespaced, namespace, name = target
            if namespaced and f"/api/v1/namespaces/{namespace}" not in objects:
                return self.failure(404, f'namespaces "{namespace}" not found')
            content_type = self.headers.get("Content-Type")
            if content_type == "application/merge-patch+json":
                return self.edit(url.path, body, query)
            if content_type != "application/apply-patch+yaml":
                return self.reply(415, {"message": "only server-side apply and merge patches are expected"})
            if query.get("fieldManager") != ["gitops-ml"] or query.get("force") != ["true"]:
                return self.failure(422, "fieldManager=gitops-ml and force=true expected")
            meta = body.get("metadata", {}) if isinstance(body, dict) else {}
            if name != meta.get("name") or (namespaced and namespace != meta.get("namespace")) \
                    or body.get("kind") != kind or body.get("apiVersion") != gv:
                return self.failure(400, "the body does not match the path")
            old = objects.get(url.path)
            if old and kind == "Deployment" and \
                    old.get("spec", {}).get("selector") != body.get("spec", {}).get("selector"):
                return self.failure(422, f'Deployment.apps "{name}" is invalid: spec.selector: Invalid value: '
                                         'field is immutable')
            owners = dict(foreign.get(url.path, {}))
            new = copy.deepcopy(body)
            for dotted in list(owners):
                _, present = get_field(body, dotted)
                if present:
                    del owners[dotted]  # forced: the applied value wins and the field is gitops-ml's again
                else:
                    value, kept = get_field(old or {}, dotted)
                    if kept:
                        set_field(new, dotted, value)
            unchanged = old is not None and essence(old) == essence(new)
            generation = old["metadata"]["generation"] if old else 0
            new["metadata"] = dict(
                new.get("metadata", {}), uid=(old or {}).get("metadata", {}).get("uid", str(uuid.uuid4())),
                generation=generation if unchanged else generation + 1,
                resourceVersion=(old or {}).get("metadata", {}).get("resourceVersion", ""))
            if query.get("dryRun") == ["All"]:
                new["metadata"]["managedFields"] = managed(url.path)
                return self.reply(200, new)
            if not unchanged:
                new["metadata"]["resourceVersion"] = next_version()
                reads[url.path] = 0
            foreign[url.path] = owners
            new["metadata"]["managedFields"] = managed(url.path)
            objects[url.path] = new
        self.reply(200, new)

    def edit(self, path, patch, query):
        """Someone else's merge patch (lock held)."""
        manager = (query.get("fieldManager") or ["kubectl"])[0]
        old = objects.get(path)
        if old is None:
            return self.failure(404, "not found")
        new = copy.deepcopy(old)
        merge(new, patch)
        for dotted, _ in leaves(patch):
            foreign.setdefault(path, {})[dotted] = manager
        if essence(new) != essence(old):
            new["metadata"]["generation"] += 1
            new["metadata"]["resourceVersion"] = next_version()
            reads[path] = 0
        new["metadata"]["managedFields"] = managed(path)
        objects[path] = new
        self.reply(200, new)

    def do_GET(self):
        self.record()
        if not self.authorized("LIST" if "labelSelector=" in self.path else "GET"):
            return
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        with lock:
            parsed = parse(url.path)
            if parsed and not parsed[1]:  # discovery of a group version
                table = served()
                gv = parsed[0]
                if gv not in table:
                    return self.failure(404, "the server could not find the requested resource")
                resources = [{"name": plural, "kind": kind, "namespaced": namespaced,
                              "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                             for plural, (kind, namespaced) in sorted(table[gv].items())]
                if gv == "apps/v1":
                    resources.append({"name": "deployments/scale", "kind": "Scale", "namespaced": True,
                                      "verbs": ["get", "patch", "update"]})
                return self.reply(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                        "resources": resources})
            target, error = resolve(url.path)
            if error:
                return self.failure(*error)
            gv, kind, namespaced, namespace, name = target
            if name is None:
                wanted = [term.partition("=")[::2] for term in query.get("labelSelector", [""])[0].split(",") if term]
                items = [o for p, o in objects.items() if p.rsplit("/", 1)[0] == url.path
                         and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted)]
                return self.reply(200, {"kind": "List", "metadata": {"resourceVersion": str(version[0])},
                                        "items": items})
            obj = objects.get(url.path)
            if obj is None:
                return self.failure(404, f'{kind.lower()}s "{name}" not found')
            if kind == "Deployment":
                obj = dict(obj, status=status_for(obj, url.path))
            elif "." in gv.split("/")[0] and not gv.split("/")[0].endswith("k8s.io"):
                obj = dict(obj, status=custom_status(obj, url.path))
            self.reply(200, obj)

    def do_DELETE(self):
        body = self.body() if int(self.headers.get("Content-Length", 0)) else None
        self.record(body)
        if not self.authorized():
            return
        path = urllib.parse.urlparse(self.path).path
        preconditions = (body or {}).get("preconditions", {})
        with lock:
            obj = objects.get(path)
            if obj is None:
                return self.failure(404, "not found")
            for field in ("uid", "resourceVersion"):
                if field in preconditions and preconditions[field] != obj["metadata"].get(field):
                    return self.failure(409, f"Precondition failed: {field} in precondition: "
                                             f"{preconditions[field]}, {field} in object meta: "
                                             f"{obj['metadata'].get(field)}")
            objects.pop(path)
            foreign.pop(path, None)
        self.reply(200, {"kind": "Status", "status": "Success"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
