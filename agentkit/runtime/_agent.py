"""Running one agent on one question: a fresh namespace, the ADAS `self`, the answer as text."""

from __future__ import annotations

import builtins
import hashlib
import linecache
from collections.abc import Mapping
from typing import Any

from ._errors import InvalidAgentCode, LLMCallError
from ._info import Info
from ._session import LLMBackend, Session, bind
from ._tools import majority_vote, run_python

#: Every name the runtime gives agent code as a global (besides Python's builtins).
RUNTIME_NAMES: tuple[str, ...] = (
    "Info",
    "LLMAgentBase",
    "LLMCallError",
    "ask",
    "majority_vote",
    "run_python",
)


def runtime_namespace(session: Session) -> dict[str, Any]:
    """A fresh globals dict for one run of agent code, its LLM names bound to `session`."""
    namespace: dict[str, Any] = {
        "__name__": "agent",
        "__builtins__": builtins,
        "Info": Info,
        "LLMCallError": LLMCallError,
        "majority_vote": majority_vote,
        "run_python": run_python,
    }
    namespace.update(bind(session))
    return namespace


def compile_agent(code: str) -> Any:
    """Compile agent code under a name that makes tracebacks show its source lines."""
    filename = f"<agent {hashlib.sha256(code.encode('utf-8')).hexdigest()[:10]}>"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    return compile(code, filename, "exec")


def answer_text(result: Any) -> str:
    """What `forward` returned, as the answer string.

    An `Info` gives its content and anything else its ``str()``; ``None`` gives "". Leniently, a list of
    `Info`s (an `LLMAgentBase` call's result) gives its ``answer`` field (else the last one), and a dict
    (an `ask` result) gives its ``"answer"`` value when it has one.
    """
    if isinstance(result, Info):
        return answer_text(result.content)
    if result is None:
        return ""
    if isinstance(result, list | tuple) and result and all(isinstance(x, Info) for x in result):
        named = [x for x in result if x.name == "answer"]
        return answer_text((named or list(result))[-1])
    if isinstance(result, Mapping) and "answer" in result:
        return answer_text(result["answer"])
    return str(result)


def run_agent(
    code: str, question: str, *, backend: LLMBackend, answer_format: str, max_llm_calls: int | None = None
) -> str:
    """Run agent code on one question and return its answer.

    The code is executed in a fresh namespace holding the runtime names (nothing from an earlier run is
    visible), its `forward` is bound as a method of a new ``AgentSystem`` object, and
    ``forward(self, Info('task', 'User', question, -1))`` is called. Every model call goes to
    `backend`; `answer_format` is the task's rule for fields whose name contains "answer". Exceptions
    raised by the agent code propagate unchanged (a failed model call as `LLMCallError`);
    `InvalidAgentCode` means there is no callable `forward`.
    """
    session = Session(backend, answer_format=answer_format, max_llm_calls=max_llm_calls)
    namespace = runtime_namespace(session)
    exec(compile_agent(code), namespace)
    forward = namespace.get("forward")
    if not callable(forward):
        raise InvalidAgentCode("the agent code defines no function forward(self, taskInfo)")
    agent_system = type("AgentSystem", (), {"forward": forward})()
    return answer_text(agent_system.forward(Info("task", "User", question, -1)))
