"""CKV_DO_3: a Kubernetes container env variable named like a secret with its value written in the manifest."""

from __future__ import annotations

from typing import Any

from do_secret_names import is_secret_name

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_container_check import BaseK8sContainerCheck


class K8sEnvSecretValue(BaseK8sContainerCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no container env variable gives a secret a literal value",
            id="CKV_DO_3",
            categories=[CheckCategories.SECRETS],
        )

    def scan_container_conf(self, metadata: dict[str, Any], conf: dict[str, Any]) -> CheckResult:
        self.evaluated_container_keys = ["env"]
        env = conf.get("env")
        if not isinstance(env, list):
            return CheckResult.PASSED
        for idx, e in enumerate(env):
            if not isinstance(e, dict) or "valueFrom" in e:
                continue
            value = e.get("value")
            # value: 123 is a number, value: "" and a missing value are empty
            if is_secret_name(str(e.get("name") or "")) and value is not None and str(value).strip():
                self.evaluated_container_keys = [f"env/[{idx}]/value"]
                return CheckResult.FAILED
        return CheckResult.PASSED


check = K8sEnvSecretValue()
