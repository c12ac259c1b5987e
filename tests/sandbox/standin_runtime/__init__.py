"""A minimal stand-in for agentkit.runtime (ADAS contract only), used while the real one is missing."""

from __future__ import annotations

from typing import Any, NamedTuple


class LLMCallError(Exception):
    """A model call answered with an error."""


class Info(NamedTuple):
    name: str
    author: str
    content: Any
    iteration_idx: int = -1


def run_agent(code: str, question: str, *, backend: Any, answer_format: str) -> str:
    class LLMAgentBase:
        def __init__(self, output_fields: list[str], agent_name: str, role: str = "", **_: Any) -> None:
            self.output_fields = list(output_fields)
            self.agent_name = agent_name

        def __call__(self, input_infos: list[Info], instruction: str, iteration_idx: int = -1) -> list[Info]:
            text = "\n".join(str(i.content) for i in input_infos) + "\n" + instruction
            response = backend.chat(
                {
                    "messages": [{"role": "user", "content": text}],
                    "fields": self.output_fields,
                    "temperature": 0.5,
                    "agent_name": self.agent_name,
                }
            )
            if response.get("error"):
                raise LLMCallError(response["error"])
            values = response["fields"]
            return [Info(f, self.agent_name, values.get(f, ""), iteration_idx) for f in self.output_fields]

    namespace: dict[str, Any] = {"Info": Info, "LLMAgentBase": LLMAgentBase, "__name__": "agent"}
    exec(compile(code, "<agent>", "exec"), namespace)
    result = namespace["forward"](None, Info("task", "User", question, -1))
    return str(result.content if isinstance(result, Info) else result)
