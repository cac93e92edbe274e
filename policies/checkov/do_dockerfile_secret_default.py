"""CKV_DO_1: a Dockerfile ARG or ENV named like a secret with a literal default value."""

from __future__ import annotations

import shlex
from typing import Any

from do_secret_names import is_literal, is_secret_name

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.dockerfile.base_dockerfile_check import BaseDockerfileCheck


class DockerfileSecretDefault(BaseDockerfileCheck):
    def __init__(self) -> None:
        # "*": ARG and ENV in one check; checkov keeps one result per check and instruction name.
        super().__init__(
            name="Ensure no ARG or ENV gives a secret a literal value in the Dockerfile",
            id="CKV_DO_1",
            categories=(CheckCategories.SECRETS,),
            supported_instructions=("*",),
        )

    def scan_resource_conf(  # type: ignore[override]  # "*" checks get every instruction, by name
        self, conf: dict[str, list[dict[str, Any]]]
    ) -> tuple[CheckResult, list[dict[str, Any]] | None]:
        failed = [i for name in ("ARG", "ENV") for i in conf.get(name, []) if _secret_pairs(name, i["value"])]
        failed.sort(key=lambda i: int(i["startline"]))
        return (CheckResult.FAILED, failed) if failed else (CheckResult.PASSED, None)


def _secret_pairs(instruction: str, value: str) -> list[str]:
    """The names of secrets this ARG/ENV instruction gives a literal value to."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:  # an unclosed quote: read it as plain words
        words = value.split()
    if not words:
        return []
    if instruction == "ENV" and "=" not in words[0]:  # the old form: ENV NAME the rest is the value
        pairs = [(words[0], " ".join(words[1:]))]
    else:  # NAME=value ...; ARG NAME (no default) has no value
        pairs = [(w.partition("=")[0], w.partition("=")[2]) for w in words]
    return [name for name, val in pairs if is_secret_name(name) and is_literal(val)]


check = DockerfileSecretDefault()
