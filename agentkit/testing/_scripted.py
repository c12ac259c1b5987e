"""`ScriptedLLM`: an in-process litellm provider for fast unit tests (a test double, not a model).

Importing this module imports litellm (slow, about 3 s); `agentkit.testing` loads it only when
`ScriptedLLM` or `register_scripted_llm` is first used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from litellm import CustomLLM
from litellm.llms.custom_llm import CustomLLMError

from agentkit.testing._replies import FakeReply, Reply, default_responder, prompt_word_count, word_count

ScriptItem = Reply | BaseException
"""One scripted step: a reply, or an exception to raise from the provider."""

ScriptFn = Callable[[dict[str, Any]], Reply | None]
"""A function from the request (model, messages and litellm's optional params) to a reply."""

PROVIDER = "scripted"
"""The litellm provider name: models "scripted/<anything>" reach the registered `ScriptedLLM`."""


class ScriptedLLM(CustomLLM):
    """Test double: a litellm provider that answers from a script instead of a model.

    `replies` is either a list (consumed one per call, in order; an exception in the list is raised
    for that call; running out raises an error) or a function of the request dict
    `{"model", "messages", **optional_params}` (None from the function = `default_responder`).
    Every request is recorded in `calls`. Register it with `register_scripted_llm`.
    """

    def __init__(self, replies: Iterable[ScriptItem] | ScriptFn) -> None:
        super().__init__()
        self._fn: ScriptFn | None = replies if callable(replies) else None
        self._script: list[ScriptItem] = [] if callable(replies) else list(replies)
        self._next = 0
        self._lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []
        """Every request received, in order: {"model", "messages", **optional_params}."""

    @property
    def remaining(self) -> int:
        """Scripted replies not yet used (0 for a function script)."""
        with self._lock:
            return len(self._script) - self._next

    def _answer(self, model: str, messages: list[Any], optional_params: dict[str, Any]) -> FakeReply:
        request: dict[str, Any] = {"model": model, "messages": list(messages), **(optional_params or {})}
        with self._lock:
            self.calls.append(request)
            item: ScriptItem | None
            if self._fn is not None:
                item = None
            elif self._next < len(self._script):
                item = self._script[self._next]
                self._next += 1
            else:
                raise CustomLLMError(
                    status_code=500,
                    message=f"ScriptedLLM: script exhausted after {len(self._script)} replies",
                )
        if self._fn is not None:
            item = self._fn(request)
            if item is None:
                item = default_responder(request)
        if isinstance(item, BaseException):
            raise item
        assert item is not None
        reply = item if isinstance(item, FakeReply) else FakeReply(content=item)
        if reply.prompt_tokens is None:
            reply = reply.model_copy(update={"prompt_tokens": prompt_word_count(request)})
        if reply.completion_tokens is None:
            reply = reply.model_copy(update={"completion_tokens": word_count(reply.content)})
        return reply

    def _fill(self, model: str, model_response: Any, reply: FakeReply) -> Any:
        model_response.choices[0].message.content = reply.content
        model_response.choices[0].finish_reason = reply.finish_reason
        model_response.model = model
        prompt_tokens = reply.prompt_tokens or 0
        completion_tokens = reply.completion_tokens or 0
        usage = litellm.Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        model_response.usage = usage
        return model_response

    def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Answer synchronously (litellm.completion)."""
        model_response = kwargs["model_response"]
        reply = self._answer(model, messages, kwargs.get("optional_params") or {})
        return self._fill(model, model_response, reply)

    async def acompletion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        """Answer asynchronously (litellm.acompletion); the script is the same."""
        model_response = kwargs["model_response"]
        reply = self._answer(model, messages, kwargs.get("optional_params") or {})
        return self._fill(model, model_response, reply)


def register_scripted_llm(replies: Iterable[ScriptItem] | ScriptFn) -> ScriptedLLM:
    """Create a `ScriptedLLM` and make it litellm's "scripted" provider (replacing an earlier one).

    Afterwards `litellm.acompletion(model="scripted/anything", messages=...)` is answered by it.
    """
    handler = ScriptedLLM(replies)
    litellm.custom_provider_map = [
        item for item in litellm.custom_provider_map if item.get("provider") != PROVIDER
    ] + [{"provider": PROVIDER, "custom_handler": handler}]
    return handler
