"""CKV_DO_2: a Dockerfile RUN that pipes a download into a shell (curl ... | sh), unchecked code in the image."""

from __future__ import annotations

import re
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.dockerfile.base_dockerfile_check import BaseDockerfileCheck

_SHELL = r"(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a)?sh\b"
_DOWNLOAD = r"\b(?:curl|wget)\b"
PIPE_TO_SHELL = re.compile(
    # curl ... | sh: no ; & or | between the download and the pipe (a || fallback is not a pipe)
    rf"{_DOWNLOAD}[^|;&]*\|\s*{_SHELL}"
    # bash <(curl ...) and sh -c "$(curl ...)"
    rf"|{_SHELL}\s+(?:-\S+\s+)*(?:<\(|[\"']?\$\()\s*{_DOWNLOAD}"
)


class DockerfilePipeToShell(BaseDockerfileCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure no RUN pipes a download into a shell (curl | sh)",
            id="CKV_DO_2",
            categories=(CheckCategories.SUPPLY_CHAIN,),
            supported_instructions=("RUN",),
        )

    def scan_resource_conf(self, conf: list[dict[str, Any]]) -> tuple[CheckResult, list[dict[str, Any]] | None]:  # type: ignore[override]
        failed = [run for run in conf if PIPE_TO_SHELL.search(run["value"])]
        return (CheckResult.FAILED, failed) if failed else (CheckResult.PASSED, None)


check = DockerfilePipeToShell()
