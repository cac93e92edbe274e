"""The MCP prompts a person can invoke (slash commands in Claude Code), read from prompts/*.md at start.

A prompt file is YAML front matter (title, description, arguments) between `---` lines, then the text,
with `$name` or `${name}` where an argument goes. A malformed file stops the server with an error naming
the file and what is wrong: a prompt that silently vanishes is worse than a server that will not start.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from string import Template

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devops_orchestra.core.errors import OrchestraError
from devops_orchestra.core.paths import bundled_dir

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


class PromptError(OrchestraError):
    """A prompt file that cannot be served."""


class _PromptModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Argument(_PromptModel):
    """An argument of a prompt: its name, what it is for, whether it is required, its default."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    description: str
    required: bool = False
    default: str = ""


class PromptFile(_PromptModel):
    """One prompt file: its name, title, description and arguments, and the text they go into."""

    name: str = Field(description="The file name without .md: what the person types.")
    title: str
    description: str
    arguments: list[Argument] = []
    text: str = Field(exclude=True)

    def render(self, values: dict[str, str | None]) -> str:
        """The text with each argument's value put in (its default when none is given)."""
        given = {a.name: values.get(a.name) or a.default for a in self.arguments}
        return Template(self.text).substitute(given)


def load_prompts(directory: Path | None = None) -> list[PromptFile]:
    """Every prompt in directory (default: $DEVOPS_ORCHESTRA_PROMPTS, else the bundled prompts/)."""
    directory = directory or Path(os.environ.get("DEVOPS_ORCHESTRA_PROMPTS") or bundled_dir("prompts"))
    prompts = [_read(path) for path in sorted(directory.glob("*.md"))]
    if not prompts:
        raise PromptError(f"{directory}: no prompt files (*.md)")
    return prompts


def _read(path: Path) -> PromptFile:
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"prompt file {path}: cannot read it as UTF-8 text ({exc})") from exc
    match = _FRONT_MATTER.match(content)
    if not match:
        raise PromptError(f"prompt file {path}: it must start with front matter between two '---' lines")
    try:
        meta = yaml.safe_load(match.group(1))
        prompt = PromptFile.model_validate({**(meta or {}), "name": path.stem, "text": match.group(2)})
    except yaml.YAMLError as exc:
        raise PromptError(f"prompt file {path}: front matter is not valid YAML: {exc}") from exc
    except (ValidationError, TypeError) as exc:
        raise PromptError(f"prompt file {path}: {exc}") from exc
    template = Template(prompt.text)
    if not template.is_valid():
        raise PromptError(f"prompt file {path}: a '$' that is not an argument (write '$$' for a dollar sign)")
    declared = {a.name for a in prompt.arguments}
    if undeclared := sorted(set(template.get_identifiers()) - declared):
        raise PromptError(f"prompt file {path}: uses ${', $'.join(undeclared)} but declares no such argument")
    return prompt
