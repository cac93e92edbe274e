"""One namespace of one cluster, reached through a kubeconfig context: every API call the kubernetes target makes
goes through Cluster, which turns the API server's answers (Status objects) and transport failures into KubeError
messages that say what failed, where, and what to do.

The client is lightkube (typed, asyncio, httpx-based): it reads kubeconfigs (tokens, client certificates, exec
plugins), speaks server-side apply and watches, and needs no discovery call for the built-in kinds and Argo
Rollouts'; another kind (a CRD of the repository's) is looked up once in the API server's discovery.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx2
import yaml
from lightkube import ApiError, AsyncClient, ConfigError
from lightkube.config import client_adapter
from lightkube.config.kubeconfig import KubeConfig, SingleConfig
from lightkube.core.resource import NamespacedResource, Resource
from lightkube.core.resource_registry import resource_registry
from lightkube.generic_resource import create_global_resource, create_namespaced_resource
from lightkube.types import PatchType

from devops_orchestra.deploy.targets.base import DeployError

FIELD_MANAGER = "devops-orchestra"  # owns the fields it applies (server-side apply), as kubectl's "kubectl" does
Reason = Literal["config", "unavailable", "unauthorized", "forbidden", "not_found", "conflict", "invalid",
                 "expired", "timeout", "degraded", "api"]

# Argo Rollouts' kinds (lightkube knows the built-in ones): no discovery call needed to find their URLs.
ROLLOUT = create_namespaced_resource("argoproj.io", "v1alpha1", "Rollout", "rollouts")
for _kind, _plural in (("AnalysisTemplate", "analysistemplates"), ("AnalysisRun", "analysisruns"),
                       ("Experiment", "experiments")):
    create_namespaced_resource("argoproj.io", "v1alpha1", _kind, _plural)


class KubeError(DeployError):
    """A Kubernetes call that failed; reason says which kind of failure (unavailable, forbidden, timeout...)."""

    def __init__(self, message: str, reason: Reason = "api") -> None:
        super().__init__(message)
        self.reason = reason


def kubeconfig_paths() -> list[Path]:
    """Where the kubeconfig is read from: $KUBECONFIG (a list, as kubectl reads it), else ~/.kube/config."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return [Path(p).expanduser() for p in listed or ["~/.kube/config"]]


def load_config(context: str | None) -> SingleConfig:
    """The kubeconfig's context (its current-context when None), merged over $KUBECONFIG's files as kubectl does:
    the first file naming a cluster, user or context wins."""
    paths = [p for p in kubeconfig_paths() if p.is_file()]
    if not paths:
        raise KubeError(f"no kubeconfig found at {os.pathsep.join(map(str, kubeconfig_paths()))}: set KUBECONFIG "
                        "to the file your cluster's provider gave you (or create ~/.kube/config)", "config")
    merged: dict[str, Any] = {"clusters": [], "users": [], "contexts": []}
    for path in paths:
        try:
            conf = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KubeError(f"cannot read the kubeconfig {path}: {exc}", "config") from exc
        merged.setdefault("current-context", conf.get("current-context"))
        for section in ("clusters", "users", "contexts"):
            known = {entry["name"] for entry in merged[section]}
            merged[section] += [e for e in conf.get(section) or [] if e.get("name") not in known]
    name = context or merged.get("current-context")
    contexts = sorted(c["name"] for c in merged["contexts"])
    where = os.pathsep.join(map(str, paths))
    if not name:
        raise KubeError(f"no context chosen: set `context:` in the environment (deployment.environments) or a "
                        f"current-context in {where}; the kubeconfig has: {', '.join(contexts) or 'none'}", "config")
    if name not in contexts:
        raise KubeError(f"context {name!r} is not in the kubeconfig ({where}); it has: "
                        f"{', '.join(contexts) or 'none'}. Fix the environment's `context:`, or add the context "
                        f"(`kubectl config get-contexts` lists them).", "config")
    try:
        config = KubeConfig.from_dict(merged, fname=paths[0]).get(name)
    except (ConfigError, KeyError) as exc:
        raise KubeError(f"context {name!r} of {where} names a cluster or user the kubeconfig lacks ({exc}); "
                        "fix the kubeconfig", "config") from exc
    assert config is not None
    if config.user is None:
        raise KubeError(f"context {name!r} of {where} has no user: add the credentials your cluster's provider "
                        "gave you", "config")
    return config


class Cluster:
    """A namespace of a cluster, as one context of the kubeconfig reaches it. Use as `async with`."""

    def __init__(self, context: str | None, namespace: str | None, timeout: float = 10.0) -> None:
        self.config = load_config(context)
        self.context = self.config.context_name
        self.namespace = namespace or self.config.namespace
        self.server = self.config.cluster.server
        # connect fails fast (a cluster that is down answers nothing); reads wait for a busy API server
        self.timeout = httpx2.Timeout(timeout, connect=3.0)
        # Any: lightkube's overloads pick a return type per resource class; ours are chosen at run time
        self.client: Any = AsyncClient(self.config, namespace=self.namespace, field_manager=FIELD_MANAGER,
                                       timeout=self.timeout, trust_env=False)
        self._discovery: httpx2.AsyncClient | None = None  # plain GETs, same credentials; made when first needed

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()
        if self._discovery is not None:
            await self._discovery.aclose()

    @contextmanager
    def explained(self, doing: str) -> Iterator[None]:
        """Turn what can go wrong while `doing` into a KubeError that speaks to the person."""
        where = f"{self.server} (context {self.context!r}, namespace {self.namespace!r})"
        try:
            yield
        except ApiError as exc:
            status = exc.status
            code, message = status.code or exc.response.status_code, status.message or ""
            if code == 401:
                raise KubeError(f"{doing}: the API server at {where} refused the kubeconfig's credentials "
                                f"(401 Unauthorized): renew the token or certificate of the context",
                                "unauthorized") from None
            if code == 403:
                raise KubeError(f"{doing}: forbidden by the cluster's RBAC: {message}. Ask for a Role granting it "
                                f"to the kubeconfig's user in namespace {self.namespace!r}", "forbidden") from None
            if code == 404:
                raise KubeError(f"{doing}: {message} in {where}", "not_found") from None
            if code == 409:
                raise KubeError(f"{doing}: {message}. Another field manager changed these fields (kubectl edit, "
                                "a controller); remove them from the manifest, or apply with force to take them "
                                "over", "conflict") from None
            if code == 410:  # a watch from a resourceVersion the server no longer keeps: start again from now
                raise KubeError(f"{doing}: {message}", "expired") from None
            if code == 422:
                raise KubeError(f"{doing}: the API server rejected it as invalid: {message}", "invalid") from None
            raise KubeError(f"{doing}: the API server at {where} answered {code} {status.reason}: {message}") \
                from None
        except httpx2.TransportError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise KubeError(f"{doing}: the API server at {where} presented a certificate the context's "
                                f"certificate-authority does not trust ({exc}): refresh the kubeconfig from the "
                                "cluster's provider", "unavailable") from None
            raise KubeError(f"{doing}: the Kubernetes API server at {where} is unavailable "
                            f"({type(exc).__name__}: {exc or 'no answer'}). Check that the cluster is up and "
                            f"reachable from here: kubectl --context {self.context} get --raw /readyz",
                            "unavailable") from None

    # -- the calls ----------------------------------------------------------------------------------------------

    async def get(self, res: type[Resource], name: str) -> dict[str, Any]:
        with self.explained(f"reading {res.__name__} {name}"):
            obj = await self.client.get(res, name, namespace=self._ns(res))
        return _plain(obj)

    async def select(self, res: type[Resource], labels: dict[str, str]) -> list[dict[str, Any]]:
        """The objects whose labels match."""
        with self.explained(f"listing {res.__name__}s"):
            return [_plain(o) async for o in self.client.list(res, namespace=self._ns(res),
                                                               labels=labels)]

    async def apply(self, doc: dict[str, Any], force: bool = True, doing: str = "") -> dict[str, Any]:
        """Server-side apply of one manifest (created when absent); force takes over fields others manage."""
        res = await self.resource_for(doc)
        name = doc["metadata"]["name"]
        with self.explained(doing or f"applying {doc['kind']} {name}"):
            obj = await self.client.patch(res, name, doc, namespace=self._ns(res),
                                          patch_type=PatchType.APPLY, force=force)
        return _plain(obj)

    async def patch(self, res: type[Resource], name: str, body: dict[str, Any] | list[dict[str, Any]],
                    kind: Literal["merge", "json"], doing: str) -> dict[str, Any]:
        patch_type = PatchType.MERGE if kind == "merge" else PatchType.JSON
        with self.explained(doing):
            obj = await self.client.patch(res, name, body, namespace=self._ns(res),
                                          patch_type=patch_type)
        return _plain(obj)

    async def delete(self, res: type[Resource], name: str) -> bool:
        """Delete one object; False when it was already gone."""
        try:
            with self.explained(f"deleting {res.__name__} {name}"):
                await self.client.delete(res, name, namespace=self._ns(res))
        except KubeError as exc:
            if exc.reason == "not_found":
                return False
            raise
        return True

    async def watch(self, res: type[Resource], name: str, since: str) -> AsyncIterator[dict[str, Any]]:
        """The object each time it changes after resourceVersion `since` (one long-lived request)."""
        with self.explained(f"watching {res.__name__} {name}"):
            async for _, obj in self.client.watch(res, namespace=self._ns(res),
                                                  fields={"metadata.name": name}, resource_version=since):
                yield _plain(obj)

    def _ns(self, res: type[Resource]) -> str | None:
        return self.namespace if issubclass(res, NamespacedResource) else None

    async def resource_for(self, doc: dict[str, Any]) -> type[Resource]:
        """The resource (its URL) of a manifest: a Kubernetes built-in or an Argo Rollouts kind, else what the API
        server's discovery says of its group and version (one GET, remembered for the process)."""
        api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        try:
            res: type[Resource] = resource_registry.load(api_version, kind)
            return res
        except Exception:  # LoadResourceError, or an import error for a group lightkube does not ship
            pass
        group, _, version = api_version.rpartition("/")
        if self._discovery is None:
            self._discovery = client_adapter.AsyncClient(self.config, client_adapter.ConnectionParams(
                timeout=self.timeout, trust_env=False))
        with self.explained(f"looking {kind} ({api_version}) up in the API server's discovery"):
            answer = await self._discovery.get(f"/apis/{api_version}" if group else f"/api/{version}")
        if answer.status_code == 404:
            raise KubeError(f"the cluster has no API {api_version} (for {kind}): install its CustomResourceDefinition "
                            "first, or leave the object out of the manifests", "config")
        if answer.status_code != 200:
            raise KubeError(f"looking {kind} ({api_version}) up in the API server's discovery: it answered "
                            f"{answer.status_code} {answer.text[:200]}", "forbidden" if answer.status_code == 403
                            else "api")
        found = next((r for r in answer.json().get("resources", [])
                      if r.get("kind") == kind and "/" not in r.get("name", "")), None)
        if found is None:
            raise KubeError(f"the cluster's API {api_version} has no kind {kind}: check the manifest's kind and "
                            "apiVersion", "config")
        make = create_namespaced_resource if found.get("namespaced") else create_global_resource
        discovered: type[Resource] = make(group, version, kind, found["name"])
        return discovered


def _plain(obj: Any) -> dict[str, Any]:
    plain: dict[str, Any] = obj.to_dict()
    return plain
