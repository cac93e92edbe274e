"""A Kubernetes API server on 127.0.0.1 for the calls the kubernetes deploy target makes, in the real wire format,
with the controllers that answer them simulated: the Deployment controller (ReplicaSets, revisions, status and
conditions, the progress deadline) and the Argo Rollouts controller (canary steps and pauses, blue-green preview
and promotion, abort, analysis failing, workloadRef).

What it serves, as the API server does:
- GET of an object, LIST with labelSelector, WATCH (watch=true, fieldSelector metadata.name=, resourceVersion,
  chunked newline-delimited events; 410 Expired for a version too old);
- PATCH with application/apply-patch+yaml (server-side apply: fieldManager required, managed fields per manager,
  409 Conflict naming the other manager's fields unless force=true, created when absent), merge-patch+json and
  json-patch+json, on the object and on its /status subresource (status only there);
- DELETE of an object;
- resourceVersion (one counter for the store), generation bumped on a spec change, uid, creationTimestamp;
- errors as Status objects: 401 without the bearer token, 403 for a verb and resource denied (RBAC), 404 for a
  missing object or namespace, 409, 410, 415, 422 for an invalid name or a missing fieldManager.
Simplified: lists in an applied object are atomic (the real server merges containers by name), and there is no
admission, defaulting or validation beyond the above.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from devops_orchestra.pipeline import detect, rendering
from devops_orchestra.pipeline.config import parse

# (group, version, plural) -> (kind, namespaced): what this server knows.
KINDS: dict[tuple[str, str, str], tuple[str, bool]] = {
    ("", "v1", "namespaces"): ("Namespace", False),
    ("", "v1", "services"): ("Service", True),
    ("", "v1", "serviceaccounts"): ("ServiceAccount", True),
    ("", "v1", "configmaps"): ("ConfigMap", True),
    ("apps", "v1", "deployments"): ("Deployment", True),
    ("apps", "v1", "replicasets"): ("ReplicaSet", True),
    ("autoscaling", "v2", "horizontalpodautoscalers"): ("HorizontalPodAutoscaler", True),
    ("policy", "v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("networking.k8s.io", "v1", "networkpolicies"): ("NetworkPolicy", True),
    ("argoproj.io", "v1alpha1", "rollouts"): ("Rollout", True),
    ("argoproj.io", "v1alpha1", "analysistemplates"): ("AnalysisTemplate", True),
    ("stable.example.com", "v1", "crontabs"): ("CronTab", True),  # a CRD, as in Kubernetes' documentation
}
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
WORKLOAD_GENERATION = "rollout.argoproj.io/workload-generation"

Key = tuple[str, str, str, str]  # (group, plural, namespace or "", name)
FieldPath = tuple[str, ...]  # a field: ("spec", "selector", "matchLabels", "app.kubernetes.io/name")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


class ApiFailure(Exception):
    """Answered as a Status object."""

    REASONS: ClassVar[dict[int, str]] = {
        400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 410: "Expired",
        415: "UnsupportedMediaType", 422: "Invalid", 500: "InternalError"}

    def __init__(self, code: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                       "message": message, "reason": self.REASONS[code], "code": code,
                       **({"details": details} if details else {})}
        self.code = code


@dataclass
class Scenario:
    """How the simulated cluster behaves; change it while a test runs."""

    ready_after: float = 0.05  # seconds until the pods of a new revision are ready
    never_ready: bool = False  # new pods never become ready (image that does not start)
    fail_analysis_at_weight: int | None = None  # Argo: the analysis fails once the canary reaches this weight


@dataclass
class FakeKube:
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    scenario: Scenario = field(default_factory=Scenario)
    url: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query) of every request
    denied: set[tuple[str, str]] = field(default_factory=set)  # (verb, plural) that RBAC refuses
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    managed: dict[Key, dict[str, set[FieldPath]]] = field(default_factory=dict)  # manager -> owned leaf paths
    events: list[tuple[int, Key, str, dict[str, Any]]] = field(default_factory=list)
    version: int = 100
    lock: threading.Condition = field(default_factory=threading.Condition)
    changed_at: dict[Key, float] = field(default_factory=dict)  # workload -> when its current revision began
    paused_once: set[tuple[Key, str, int]] = field(default_factory=set)  # Argo: pauses already reached
    analysis_failed: dict[Key, str] = field(default_factory=dict)  # Argo: why the analysis aborted a rollout
    closed: bool = False
    errors: list[str] = field(default_factory=list)  # tracebacks of the fake's own bugs
    ca: bytes = b""  # the CA certificate (PEM) when serving HTTPS
    expire_watches: int = 0  # answer this many watches with 410 Expired, as after an etcd compaction

    # -- the store --------------------------------------------------------------------------------------------

    def get(self, kind_plural: str, name: str, namespace: str = "", group: str | None = None) -> dict[str, Any]:
        """A stored object, for assertions (plural as in the URL: deployments, rollouts)."""
        with self.lock:
            for key, obj in self.objects.items():
                if key[1:] == (kind_plural, namespace, name) and (group is None or key[0] == group):
                    return copy.deepcopy(obj)
        raise KeyError((kind_plural, namespace, name))

    def owned_by(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [o for k, o in self.objects.items() if k[1] == "replicasets" and any(
            r.get("uid") == uid for r in o["metadata"].get("ownerReferences", []))]

    def _write(self, key: Key, obj: dict[str, Any], kind: str = "MODIFIED") -> dict[str, Any]:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        if kind == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        self.events.append((self.version, key, kind, copy.deepcopy(obj)))
        del self.events[:-500]  # older versions answer 410 Expired, as etcd compaction makes them
        self.lock.notify_all()
        return obj

    def _create(self, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
        if key[2]:
            meta["namespace"] = key[2]
        return self._write(key, obj, "ADDED")

    def add_namespace(self, name: str) -> None:
        with self.lock:
            self._create(("", "namespaces", "", name), {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name}})

    # -- the HTTP side ----------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        if headers.get("authorization") != f"Bearer {self.token}":
            raise ApiFailure(401, "Unauthorized")
        parts = [p for p in path.split("/") if p]
        if method == "GET" and (len(parts), parts[0]) in ((2, "api"), (3, "apis")):
            return 200, self._discovery("/".join(parts[1:]))
        group, version, plural, namespace, name, sub = self._route(path)
        kind, namespaced = KINDS[(group, version, plural)]
        verb = {"GET": "watch" if query.get("watch") == "true" else "get" if name else "list",
                "PATCH": "patch", "DELETE": "delete"}.get(method)
        if verb is None:
            raise ApiFailure(400, f"the server does not allow this method on the requested resource: {method}")
        if (verb, plural) in self.denied:
            gr = f"{plural}.{group}" if group else plural
            where = f' in the namespace "{namespace}"' if namespace else ""
            raise ApiFailure(403, f'{gr} "{name}" is forbidden: User "system:serviceaccount:ci:deployer" cannot '
                                  f'{verb} resource "{plural}" in API group "{group}"{where}',
                             {"name": name, "group": group, "kind": plural})
        key = (group, plural, namespace, name)
        with self.lock:
            if verb == "get":
                return 200, self._existing(key, kind)
            if verb == "list":
                return 200, self._list(group, version, plural, kind, namespace, query)
            if verb == "delete":
                self._existing(key, kind)
                for rs in self.owned_by(self.objects[key]):  # the garbage collector deletes what it owned
                    self._write(("apps", "replicasets", namespace, rs["metadata"]["name"]), rs, "DELETED")
                self._write(key, self.objects[key], "DELETED")
                self.managed.pop(key, None)
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "group": group, "kind": plural}}
            return self._patch(key, kind, f"{group}/{version}".lstrip("/"), namespaced, sub, query, headers, body)

    def _discovery(self, group_version: str) -> dict[str, Any]:
        """GET /api/v1 or /apis/GROUP/VERSION: the kinds served there (APIResourceList)."""
        group, _, version = group_version.rpartition("/")
        resources = [{"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                      "verbs": ["delete", "get", "list", "patch", "watch"]}
                     for (g, v, plural), (kind, namespaced) in KINDS.items() if (g, v) == (group, version)
                     for name in (plural, f"{plural}/status")]
        if not resources:
            raise ApiFailure(404, "the server could not find the requested resource")
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}

    def _route(self, path: str) -> tuple[str, str, str, str, str, str]:
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"]:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiFailure(404, "the server could not find the requested resource")
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] != "status":  # namespaces/NS/plural...
            namespace, rest = rest[1], rest[2:]
        if not rest or (group, version, rest[0]) not in KINDS:
            raise ApiFailure(404, "the server could not find the requested resource")
        return group, version, rest[0], namespace, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""

    def _existing(self, key: Key, kind: str) -> dict[str, Any]:
        obj = self.objects.get(key)
        if obj is None:
            gr = f"{key[1]}.{key[0]}" if key[0] else key[1]
            raise ApiFailure(404, f'{gr} "{key[3]}" not found', {"name": key[3], "group": key[0], "kind": key[1]})
        return obj

    def _list(self, group: str, version: str, plural: str, kind: str, namespace: str,
              query: dict[str, str]) -> dict[str, Any]:
        wanted = dict(p.split("=", 1) for p in query.get("labelSelector", "").split(",") if p)
        items = [o for (g, p, ns, _), o in self.objects.items() if (g, p) == (group, plural)
                 and (not namespace or ns == namespace)
                 and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())]
        return {"kind": f"{kind}List", "apiVersion": f"{group}/{version}".lstrip("/"),
                "metadata": {"resourceVersion": str(self.version)}, "items": items}

    def watch(self, path: str, query: dict[str, str]) -> Iterator[dict[str, Any]]:
        """The events after query's resourceVersion for the objects matching fieldSelector metadata.name."""
        group, _, plural, namespace, _, _ = self._route(path)
        name = query.get("fieldSelector", "").removeprefix("metadata.name=")
        since = int(query.get("resourceVersion") or 0)
        deadline = time.monotonic() + float(query.get("timeoutSeconds") or 1800)
        with self.lock:
            if self.expire_watches:
                self.expire_watches -= 1
                since = 1
            if since and self.events and since < self.events[0][0] - 1:
                yield {"type": "ERROR", "object": ApiFailure(410, f"too old resource version: {since} "
                                                                  f"({self.events[0][0]})").status}
                return
            if not since:  # no version: the current state first, as ADDED
                for key, obj in list(self.objects.items()):
                    if key[:3] == (group, plural, namespace) and key[3] == name:
                        yield {"type": "ADDED", "object": copy.deepcopy(obj)}
                since = self.version
            while not self.closed and time.monotonic() < deadline:
                for rv, key, kind, obj in [e for e in self.events if e[0] > since]:
                    since = rv
                    if key[:3] == (group, plural, namespace) and (not name or key[3] == name):
                        yield {"type": kind, "object": obj}
                self.lock.wait(0.2)

    # -- PATCH: apply, merge, json ----------------------------------------------------------------------------

    def _patch(self, key: Key, kind: str, api_version: str, namespaced: bool, sub: str, query: dict[str, str],
               headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        content_type = headers.get("content-type", "").split(";")[0]
        if namespaced and ("", "namespaces", "", key[2]) not in self.objects:
            raise ApiFailure(404, f'namespaces "{key[2]}" not found', {"name": key[2], "kind": "namespaces"})
        patch = json.loads(body)  # JSON is YAML: clients send apply patches as JSON
        manager = query.get("fieldManager", "")
        if content_type == "application/apply-patch+yaml":
            if not manager:
                raise ApiFailure(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                      "is required for apply patch")
            return self._apply(key, kind, api_version, patch, manager, query.get("force") == "true")
        current = copy.deepcopy(self._existing(key, kind))
        if content_type == "application/merge-patch+json":
            patched = merge_patch(current, patch)
        elif content_type == "application/json-patch+json":
            patched = json_patch(current, patch)
        else:
            raise ApiFailure(415, f"the body of the request was in an unknown format - accepted media types "
                                  f"include: application/json-patch+json, application/merge-patch+json, "
                                  f"application/apply-patch+yaml (got {content_type})")
        if sub == "status":  # the status subresource changes status only
            patched = {**current, "status": patched.get("status", {})}
        else:
            patched["status"] = current.get("status", {})
        self._claim(key, manager or "unknown", leaves(patch) if isinstance(patch, dict) else set())
        return 200, self._store(key, current, patched)

    def _apply(self, key: Key, kind: str, api_version: str, applied: dict[str, Any], manager: str,
               force: bool) -> tuple[int, dict[str, Any]]:
        name = applied.get("metadata", {}).get("name", "")
        if applied.get("kind") != kind or applied.get("apiVersion") != api_version:
            raise ApiFailure(400, f"the API version in the data ({applied.get('apiVersion')}) does not match the "
                                  f"expected API version ({api_version})")
        if name != key[3] or not DNS_SUBDOMAIN.match(name):
            raise ApiFailure(422, f'{kind} "{name}" is invalid: metadata.name: Invalid value: "{name}": a lowercase '
                                  "RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                                  "'.', and must start and end with an alphanumeric character",
                             {"name": name, "kind": kind, "causes": [{"reason": "FieldValueInvalid",
                                                                      "field": "metadata.name"}]})
        applied = {k: v for k, v in applied.items() if k != "status"}
        mine = leaves(applied)
        current = self.objects.get(key)
        if current is None:
            self.managed[key] = {manager: mine}
            obj = self._create(key, copy.deepcopy(applied))
            self._managed_fields(key, obj)
            return 201, obj
        conflicts = sorted(p for other, owned in self.managed.get(key, {}).items() if other != manager
                           for p in owned & mine if lookup(current, p) != lookup(applied, p))
        if conflicts and not force:
            owners = {p: o for o, owned in self.managed[key].items() for p in owned}
            lines = [f'conflict with "{owners[p]}": {dotted(p)}' for p in conflicts]
            raise ApiFailure(409, f"Apply failed with {len(conflicts)} conflict{'s' * (len(conflicts) > 1)}: "
                                  + "\n".join(lines),
                             {"causes": [{"reason": "FieldManagerConflict", "field": dotted(p),
                                          "message": f'conflict with "{owners[p]}"'} for p in conflicts]})
        patched = copy.deepcopy(current)
        others = set().union(*(o for m, o in self.managed.get(key, {}).items() if m != manager))
        for gone in self.managed.get(key, {}).get(manager, set()) - mine - others:
            remove(patched, gone)  # applied before, left out now, owned by no one else: removed
        for path in mine:
            assign(patched, path, lookup(applied, path))
        self._claim(key, manager, mine, apply=True)
        return 200, self._store(key, current, patched)

    def _claim(self, key: Key, manager: str, paths: set[FieldPath], apply: bool = False) -> None:
        owners = self.managed.setdefault(key, {})
        for other in owners.values():
            other -= paths  # taken over (forced, or an update)
        owners[manager] = paths if apply else owners.get(manager, set()) | paths

    def _store(self, key: Key, current: dict[str, Any], patched: dict[str, Any]) -> dict[str, Any]:
        if _spec(patched) != _spec(current):
            patched["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if patched == current:
            return current
        obj = self._write(key, patched)
        self._managed_fields(key, obj)
        return obj

    def _managed_fields(self, key: Key, obj: dict[str, Any]) -> None:
        obj["metadata"]["managedFields"] = [
            {"manager": m, "operation": "Apply", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:" + dotted(p)[1:]: {} for p in sorted(paths)}}
            for m, paths in self.managed.get(key, {}).items()]

    # -- the controllers --------------------------------------------------------------------------------------

    def reconcile(self) -> None:
        with self.lock:
            for key in [k for k in self.objects if k[1] == "deployments"]:
                self._deployment(key)
            for key in [k for k in self.objects if k[1] == "rollouts"]:
                self._rollout(key)

    def _replica_set(self, owner_key: Key, owner: dict[str, Any], template: dict[str, Any], hash_label: str,
                     revision_annotation: str, replicas: int) -> dict[str, Any]:
        """The owner's ReplicaSet for template, made when missing (a new revision)."""
        h = template_hash({hash_label: template})  # a Rollout's hash differs from its workloadRef Deployment's
        owned = self.owned_by(owner)
        newest = max((int(rs["metadata"]["annotations"][revision_annotation]) for rs in owned), default=0)
        for rs in owned:
            if rs["metadata"]["labels"].get(hash_label) == h:
                if int(rs["metadata"]["annotations"][revision_annotation]) < newest:  # rolled back to it
                    rs = copy.deepcopy(rs)
                    rs["metadata"]["annotations"][revision_annotation] = str(newest + 1)
                    rs["spec"]["replicas"] = replicas
                    self._write(("apps", "replicasets", owner_key[2], rs["metadata"]["name"]), rs)
                    self.changed_at[owner_key] = time.monotonic()
                    return rs
                return rs
        revision = 1 + newest
        tmpl = copy.deepcopy(template)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[hash_label] = h
        name = f"{owner['metadata']['name']}-{h}"
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name, "labels": tmpl["metadata"]["labels"],
                           "annotations": {revision_annotation: str(revision)},
                           "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                                "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                                "controller": True, "blockOwnerDeletion": True}]},
              "spec": {"replicas": replicas, "selector": {"matchLabels": tmpl["metadata"]["labels"]},
                       "template": tmpl}}
        self._create(("apps", "replicasets", owner_key[2], name), rs)
        self.changed_at[owner_key] = time.monotonic()
        return rs

    def _scale(self, rs: dict[str, Any], replicas: int, ready: int) -> None:
        """A ReplicaSet's size and ready pods, as the ReplicaSet controller would report them."""
        key = ("apps", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"])
        current = self.objects[key]
        if (current["spec"]["replicas"], current.get("status", {}).get("readyReplicas")) != (replicas, ready):
            self._write(key, {**copy.deepcopy(current), "spec": {**current["spec"], "replicas": replicas},
                              "status": {"replicas": replicas, "readyReplicas": ready}})

    def _ready(self, key: Key) -> bool:
        s = self.scenario
        return not s.never_ready and time.monotonic() - self.changed_at.get(key, 0) >= s.ready_after

    def _set_status(self, key: Key, status: dict[str, Any], annotations: dict[str, str] | None = None) -> None:
        obj = copy.deepcopy(self.objects[key])
        old_status = obj.get("status", {})
        for cond in status.get("conditions", []):  # keep lastTransitionTime while a condition holds
            before = next((c for c in old_status.get("conditions", []) if c["type"] == cond["type"]), None)
            held = before is not None and (before["status"], before["reason"]) == (cond["status"], cond["reason"])
            cond["lastTransitionTime"] = cond["lastUpdateTime"] = before["lastTransitionTime"] if held and before \
                else now()
        obj["status"] = status
        if annotations:
            obj["metadata"].setdefault("annotations", {}).update(annotations)
        if obj != self.objects[key]:
            self._write(key, obj)

    def _deployment(self, key: Key) -> None:
        d = self.objects[key]
        spec = d["spec"]
        desired = spec.get("replicas", 1)
        rs = self._replica_set(key, d, spec["template"], "pod-template-hash", "deployment.kubernetes.io/revision",
                                  desired)
        rs_name = rs["metadata"]["name"]
        old = [o for o in self.owned_by(d) if o["metadata"]["name"] != rs["metadata"]["name"]
               and o["spec"]["replicas"]]
        available = desired if self._ready(key) else (old[0]["spec"]["replicas"] if old else 0)
        if self._ready(key):
            self._scale(rs, desired, desired)
            for o in old:
                self._scale(o, 0, 0)
        deadline = spec.get("progressDeadlineSeconds", 600)
        if self._ready(key):
            progressing = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
        elif time.monotonic() - self.changed_at[key] > deadline:
            progressing = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
        else:
            progressing = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')
        has_minimum = available >= desired - 0  # maxUnavailable 0 in the generated manifests
        self._set_status(key, {
            "observedGeneration": d["metadata"]["generation"],
            "replicas": desired + (0 if self._ready(key) else available),
            "updatedReplicas": desired, "readyReplicas": available, "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": "True" if has_minimum else "False",
                 "reason": "MinimumReplicasAvailable" if has_minimum else "MinimumReplicasUnavailable",
                 "message": "Deployment has minimum availability." if has_minimum
                 else "Deployment does not have minimum availability."},
                dict(zip(("status", "reason", "message"), progressing, strict=True), type="Progressing")]},
            {"deployment.kubernetes.io/revision": rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]})

    def _rollout(self, key: Key) -> None:
        ro = self.objects[key]
        spec, status = ro["spec"], copy.deepcopy(ro.get("status", {}))
        annotations: dict[str, str] = {}
        template = spec.get("template")
        if ref := spec.get("workloadRef"):
            dep = self.objects.get(("apps", "deployments", key[2], ref["name"]))
            if dep is None:
                return
            template = dep["spec"]["template"]
            annotations[WORKLOAD_GENERATION] = str(dep["metadata"]["generation"])
            status["workloadObservedGeneration"] = str(dep["metadata"]["generation"])
        assert template is not None
        desired = spec.get("replicas", 1)
        rs = self._replica_set(key, ro, template, "rollouts-pod-template-hash", "rollout.argoproj.io/revision",
                                    desired)
        h = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
        canary = spec["strategy"].get("canary")
        steps = canary.get("steps", []) if canary else []
        if status.get("currentPodHash") != h:  # a new revision: start over (and leave a previous abort behind)
            status.update(currentPodHash=h, abort=False, pauseConditions=None, controllerPause=False, promoteFull=None)
            status.pop("abortedAt", None)
            self.analysis_failed.pop(key, None)
            status["currentStepIndex"] = 0 if canary and steps else None
            if not status.get("stableRS"):  # the first revision goes straight to stable, as Argo does
                status["stableRS"] = h
                status["currentStepIndex"] = len(steps) if canary and steps else None
        status["observedGeneration"] = str(ro["metadata"]["generation"])
        status.setdefault("canary", {})
        status.setdefault("blueGreen", {})
        ready = self._ready(key)
        done = status["stableRS"] == h
        conditions: list[dict[str, Any]] = []
        phase, message = "Progressing", "more replicas need to be updated"
        if status.get("promoteFull") and not done:
            status["stableRS"], done = h, True
            status["currentStepIndex"] = len(steps) if canary and steps else None
            status["promoteFull"] = None
        if status.get("abort"):
            status.setdefault("abortedAt", now())
            why = self.analysis_failed.get(key) or ("Rollout aborted update to revision "
                                                    + rs["metadata"]["annotations"]["rollout.argoproj.io/revision"])
            conditions.append({"type": "Progressing", "status": "False", "reason": "RolloutAborted", "message": why})
            phase, message = "Degraded", f"RolloutAborted: {why}"
            status["canary"]["weights"] = {"canary": {"weight": 0}, "stable": {"weight": 100}}
        elif done:
            phase, message = "Healthy", ""
            if spec["strategy"].get("blueGreen"):
                status["blueGreen"]["activeSelector"] = h
        elif status.get("pauseConditions"):
            phase, message = "Paused", status["pauseConditions"][0]["reason"]
        elif ready and canary:
            phase, message = self._canary_steps(key, ro, status, steps, h)
        elif ready:  # blue-green: the preview is up; wait for promotion unless auto-promotion is on
            status["blueGreen"]["previewSelector"] = h
            auto = spec["strategy"]["blueGreen"].get("autoPromotionEnabled", True)
            if auto or (key, h, -1) in self.paused_once:
                status["stableRS"] = h
                status["blueGreen"]["activeSelector"] = h
                phase, message = "Healthy", ""
            else:
                self.paused_once.add((key, h, -1))
                status["pauseConditions"] = [{"reason": "BlueGreenPause", "startTime": now()}]
                status["controllerPause"] = True
                phase, message = "Paused", "BlueGreenPause"
        elif not ready:
            message = "updated replicas are still becoming available"
        if phase != "Paused" and not status.get("pauseConditions"):
            status["controllerPause"] = False
        for other in self.owned_by(ro):  # the current ReplicaSet and the stable one run; an aborted canary does not
            other_hash = other["metadata"]["labels"]["rollouts-pod-template-hash"]
            running = other_hash == status["stableRS"] or (other_hash == h and not status.get("abort"))
            self._scale(other, desired if running else 0, desired if running and (ready or done) else 0)
        status.update(phase=phase, message=message, replicas=desired, updatedReplicas=desired,
                      readyReplicas=desired if ready or done else 0, availableReplicas=desired if ready or done else 0,
                      conditions=conditions or [{"type": "Progressing", "status": "True",
                                                 "reason": "RolloutCompleted" if done else "ReplicaSetUpdated",
                                                 "message": "Rollout completed" if done else "progressing"}])
        self._set_status(key, {k: v for k, v in status.items() if v is not None}, annotations)

    def _canary_steps(self, key: Key, ro: dict[str, Any], status: dict[str, Any], steps: list[dict[str, Any]],
                      h: str) -> tuple[str, str]:
        """Run the canary's steps from currentStepIndex as far as they go now (a pause or an analysis stops it)."""
        index = status.get("currentStepIndex") or 0
        while index < len(steps):
            step = steps[index]
            if "setWeight" in step:
                weight = step["setWeight"]
                status["canary"]["weights"] = {"canary": {"weight": weight}, "stable": {"weight": 100 - weight}}
                fail = self.scenario.fail_analysis_at_weight
                if fail is not None and weight >= fail:
                    status["abort"] = True
                    status["abortedAt"] = now()
                    self.analysis_failed[key] = ('metric "error-rate" assessed Failed due to failed (1) > '
                                                 "failureLimit (0)")
                    status["currentStepIndex"] = index
                    return "Degraded", f"RolloutAborted: {self.analysis_failed[key]}"
                index += 1
            elif "pause" in step:
                if (key, h, index) not in self.paused_once:
                    self.paused_once.add((key, h, index))
                    status["currentStepIndex"] = index
                    duration = step["pause"].get("duration")
                    if duration is None:
                        status["pauseConditions"] = [{"reason": "CanaryPauseStep", "startTime": now()}]
                        status["controllerPause"] = True
                        return "Paused", "CanaryPauseStep"
                    self.changed_at[(key[0], "pause", key[2], key[3])] = time.monotonic()
                start = self.changed_at.get((key[0], "pause", key[2], key[3]))
                duration = step["pause"].get("duration")
                if duration is not None and start is not None and time.monotonic() - start < seconds(duration):
                    status["currentStepIndex"] = index
                    return "Progressing", "waiting for all steps to complete"
                index += 1
            else:
                index += 1
        status["currentStepIndex"] = index
        status["stableRS"] = h
        status["canary"]["weights"] = {"canary": {"weight": 100}, "stable": {"weight": 0}}
        return "Healthy", ""


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    """What metadata.generation counts changes of: everything but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def seconds(duration: str | int) -> float:
    if isinstance(duration, int):
        return duration
    value, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", duration).groups()  # type: ignore[union-attr]
    return float(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[unit]


# -- JSON documents ----------------------------------------------------------------------------------------------

def leaves(obj: dict[str, Any], prefix: FieldPath = ()) -> set[FieldPath]:
    """Paths to every value that is not a mapping (lists count as one value): the fields an apply sets."""
    out: set[FieldPath] = set()
    for k, v in obj.items():
        path = (*prefix, k)
        if isinstance(v, dict) and v:
            out |= leaves(v, path)
        elif not (path == ("metadata", "name") or path == ("metadata", "namespace")):
            out.add(path)
    return out


def dotted(path: FieldPath) -> str:
    return "".join(f"[{p!r}]" if "." in p or "/" in p else f".{p}" for p in path)


def lookup(obj: Any, path: FieldPath) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def assign(obj: dict[str, Any], path: FieldPath, value: Any) -> None:
    *parents, last = path
    for part in parents:
        obj = obj.setdefault(part, {})
    obj[last] = copy.deepcopy(value)


def remove(obj: dict[str, Any], path: FieldPath) -> None:
    *parents, last = path
    for part in parents:
        obj = obj.get(part, {})
    obj.pop(last, None)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


def json_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902: add, replace and remove (what `rollout undo` sends), on a copy."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        if op["op"] in ("add", "replace"):
            if op["op"] == "replace" and parts[-1] not in parent:
                raise ApiFailure(422, f"the server rejected our request due to an error in our request: replace "
                                      f"operation does not apply: doc is missing path: {op['path']}")
            parent[parts[-1]] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            parent.pop(parts[-1], None)
        else:
            raise ApiFailure(422, f"Unexpected kind: {op['op']}")
    return doc


# -- the server --------------------------------------------------------------------------------------------------

@contextmanager
def fake_kube(scenario: Scenario | None = None, namespaces: tuple[str, ...] = ("default",),
              tls: tuple[Path, Path] | None = None) -> Iterator[FakeKube]:
    """FakeKube on a free loopback port (its url), its controllers ticking every 20 ms, until the block ends;
    over HTTPS with tls = (certificate, key) files, the certificate then being its CA (fake.ca)."""
    fake = FakeKube(scenario=scenario or Scenario())
    for ns in namespaces:
        fake.add_namespace(ns)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stalls

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            fake.calls.append((self.command, self.path))
            try:
                if self.command == "GET" and query.get("watch") == "true":
                    self._authorize(headers, url.path)
                    self._stream(fake.watch(url.path, query))
                    return
                self._send(*fake.handle(self.command, url.path, query, headers, body))
            except ApiFailure as failure:
                self._send(failure.code, failure.status)
            except Exception:  # a bug of the fake: answer 500 and keep the traceback for the test to show
                fake.errors.append(traceback.format_exc())
                self._send(500, ApiFailure(500, "fake API server error").status)

        def _authorize(self, headers: dict[str, str], path: str) -> None:
            if headers.get("authorization") != f"Bearer {fake.token}":
                raise ApiFailure(401, "Unauthorized")
            _, _, plural, _, _, _ = fake._route(path)
            if ("watch", plural) in fake.denied:
                raise ApiFailure(403, f'{plural} is forbidden: User "system:serviceaccount:ci:deployer" cannot '
                                      f'watch resource "{plural}"')

        def _stream(self, events: Iterator[dict[str, Any]]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for event in events:
                    line = json.dumps(event).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        fake.url = fake.url.replace("http:", "https:")
        fake.ca = tls[0].read_bytes()
    stop = threading.Event()

    def controllers() -> None:
        while not stop.wait(0.02):
            fake.reconcile()

    threads = [threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True),
               threading.Thread(target=controllers, daemon=True)]
    for t in threads:
        t.start()
    try:
        yield fake
    finally:
        stop.set()
        with fake.lock:
            fake.closed = True
            fake.lock.notify_all()
        server.shutdown()
        server.server_close()


def generated_manifests(root: Path, strategy: str) -> Path:
    """The pipeline agent's k8s/ under root for one service `web` (port 8080) of project shop: a Deployment, or
    for canary and blue-green an Argo Rollouts Rollout through workloadRef, with its Service, HPA, PDB..."""
    (root / "requirements.txt").parent.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text("flask==3.0.0\n")
    (root / "app.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    config = parse(f"project: {{name: shop}}\ndeployment:\n  strategy: {strategy}\n  services:\n"
                   "    - {name: web, port: 8080}\n")
    for f in rendering.render(config, detect.detect(root), ["kubernetes"]).files:
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        (root / f.path).write_text(f.content)
    return root / "k8s"


def kubeconfig(fake: FakeKube, context: str = "test", namespace: str = "default", token: str | None = None) -> str:
    """A kubeconfig (YAML text) with one context pointing at fake, authenticating with its bearer token."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "fake", "cluster": {"server": fake.url, **(
            {"certificate-authority-data": base64.b64encode(fake.ca).decode()} if fake.ca else {})}}],
        "users": [{"name": "deployer", "user": {"token": token or fake.token}}],
        "contexts": [{"name": context, "context": {"cluster": "fake", "user": "deployer", "namespace": namespace}}],
    })
