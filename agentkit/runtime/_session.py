"""The LLM-call building blocks of agent code and the per-run session that connects them to a backend.

A run (see `run_agent`) creates one `Session` and gives the agent code versions of `LLMAgentBase` and
`ask` bound to it, so concurrent runs in one process never share state, and agent code may call them
from its own threads.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from ._errors import LLMCallError
from ._info import Info
from ._prompting import DEFAULT_ROLE, FieldSpec, build_messages, fields_from_response, normalise_fields


class LLMBackend(Protocol):
    """Where the runtime sends model calls: the host's LLM client, directly or over the sandbox pipe.

    ``chat`` receives ``{"messages": [{"role", "content"}, ...], "fields": [...], "temperature": float,
    "agent_name": str, "sample_index": int}`` and returns ``{"fields": {name: str}, "raw": str,
    "parse_error": str | None}``, or ``{"error": str, "error_kind": str}`` when the call failed for good.
    It may be called from several threads at once.
    """

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one model call (shapes in the class docstring)."""
        ...


class Session:
    """One run of agent code: its backend, the task's answer format, and its call accounting."""

    def __init__(self, backend: LLMBackend, *, answer_format: str = "", max_llm_calls: int | None = None):
        self.backend = backend
        self.answer_format = answer_format
        self.max_llm_calls = max_llm_calls
        self.calls = 0
        self._lock = threading.Lock()
        self._agents = 0
        self._repeats: dict[str, int] = {}

    def next_agent_number(self) -> int:
        """A number for a new `LLMAgentBase`, counted per run so prompts are the same on every run."""
        with self._lock:
            self._agents += 1
            return self._agents

    def call(
        self, messages: list[dict[str, str]], fields: list[str], *, temperature: float, agent_name: str
    ) -> dict[str, str]:
        """Send one call to the backend; return its field values in the order of `fields`."""
        key = hashlib.sha256(
            json.dumps([messages, fields, temperature], ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        with self._lock:
            if self.max_llm_calls is not None and self.calls >= self.max_llm_calls:
                raise LLMCallError(
                    f"the agent exceeded its limit of {self.max_llm_calls} LLM calls per example"
                )
            self.calls += 1
            # The same prompt asked again (self-consistency) must be a new sample, not a cache hit.
            sample_index = self._repeats.get(key, 0)
            self._repeats[key] = sample_index + 1
        request: dict[str, Any] = {
            "messages": messages,
            "fields": list(fields),
            "temperature": temperature,
            "agent_name": agent_name,
            "sample_index": sample_index,
        }
        try:
            response = self.backend.chat(request)
        except LLMCallError:
            raise
        except Exception as exc:
            raise LLMCallError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(response, Mapping):
            raise LLMCallError(f"the LLM backend returned {type(response).__name__}, not a dict")
        if response.get("error"):
            raise LLMCallError(str(response["error"]), kind=str(response.get("error_kind") or "llm"))
        return fields_from_response(response, fields)


def _no_session() -> LLMCallError:
    return LLMCallError("no LLM backend: agent code must be run through agentkit's run_agent()")


def _temperature(value: Any) -> float:
    return 0.5 if value is None else float(value)


class LLMAgentBase:
    """An LLM call with named output fields (the ADAS contract).

    ``agent(input_infos, instruction, iteration_idx=-1)`` returns one `Info` per output field, in the
    order of `output_fields`. `model` is accepted for compatibility and ignored: the run's agent model
    answers every call. As in ADAS, an empty `output_fields` is legal: the call is still made (and
    counted) and returns ``[]``.
    """

    _session: ClassVar[Session | None] = None

    def __init__(
        self,
        output_fields: list[str],
        agent_name: str,
        role: str = DEFAULT_ROLE,
        model: str | None = None,
        temperature: float = 0.5,
    ) -> None:
        self.output_fields = list(normalise_fields(output_fields, allow_empty=True))
        self.agent_name = str(agent_name)
        self.role = str(role)
        self.model = model
        self.temperature = _temperature(temperature)
        session = type(self)._session
        self.id = session.next_agent_number() if session is not None else 0

    def __repr__(self) -> str:
        return f"{self.agent_name} #{self.id}"

    def __call__(self, input_infos: list[Info], instruction: str, iteration_idx: int = -1) -> list[Info]:
        """Ask the model; return one `Info` per output field, in the order of `output_fields`."""
        session = type(self)._session
        if session is None:
            raise _no_session()
        me = repr(self)
        fields = normalise_fields(self.output_fields, allow_empty=True)
        messages = build_messages(
            input_infos,
            instruction,
            role=self.role,
            fields=fields,
            answer_format=session.answer_format,
            me=me,
        )
        values = session.call(
            messages, list(fields), temperature=self.temperature, agent_name=self.agent_name
        )
        return [Info(name, me, values[name], iteration_idx) for name in fields]


def ask(
    prompt: Any,
    instruction: str = "",
    *,
    fields: FieldSpec = ("thinking", "answer"),
    role: str = DEFAULT_ROLE,
    temperature: float = 0.5,
    name: str = "ask",
) -> dict[str, str]:
    """Ask the model once; return ``{field: text}`` in the order of `fields`.

    `prompt` is a string, an `Info` or a list of them; `fields` is a list of names or a dict of
    name -> description. A field whose name contains "answer" gets the task's answer format.
    """
    return _ask(None, prompt, instruction, fields=fields, role=role, temperature=temperature, name=name)


def _ask(
    session: Session | None,
    prompt: Any,
    instruction: str,
    *,
    fields: FieldSpec,
    role: str,
    temperature: float,
    name: str,
) -> dict[str, str]:
    if session is None:
        raise _no_session()
    spec = normalise_fields(fields)
    messages = build_messages(
        prompt, instruction, role=role, fields=spec, answer_format=session.answer_format, me=None
    )
    return session.call(messages, list(spec), temperature=_temperature(temperature), agent_name=str(name))


def bind(session: Session) -> dict[str, Any]:
    """The session-bound `LLMAgentBase` and `ask` given to one run of agent code."""
    agent_class = type("LLMAgentBase", (LLMAgentBase,), {"_session": session, "__module__": __name__})

    def bound_ask(*args: Any, **kwargs: Any) -> dict[str, str]:
        return _bound(session, *args, **kwargs)

    functools.update_wrapper(bound_ask, ask)
    return {"LLMAgentBase": agent_class, "ask": bound_ask}


def _bound(
    session: Session,
    prompt: Any,
    instruction: str = "",
    *,
    fields: FieldSpec = ("thinking", "answer"),
    role: str = DEFAULT_ROLE,
    temperature: float = 0.5,
    name: str = "ask",
) -> dict[str, str]:
    return _ask(session, prompt, instruction, fields=fields, role=role, temperature=temperature, name=name)
