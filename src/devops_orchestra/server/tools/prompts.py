"""Serve prompts/*.md as MCP prompts (slash commands in Claude Code)."""

from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument

from devops_orchestra.server.prompt_files import PromptFile, load_prompts
from devops_orchestra.server.state import AppState


def register(server: MCPServer[AppState]) -> None:
    """Serve every prompt file (the bundled prompts/, or $DEVOPS_ORCHESTRA_PROMPTS) as an MCP prompt."""
    for prompt in load_prompts():
        server.add_prompt(Prompt(
            name=prompt.name,
            title=prompt.title,
            description=prompt.description,
            arguments=[PromptArgument(name=a.name, description=a.description, required=a.required)
                       for a in prompt.arguments],
            fn=_renderer(prompt),
            context_kwarg=None,
        ))


def _renderer(prompt: PromptFile) -> Callable[..., str]:
    def render(**values: str | None) -> str:
        return prompt.render(values)

    return render
