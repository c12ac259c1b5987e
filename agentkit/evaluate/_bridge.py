"""The host side of an agent's model calls.

Agent code (in the sandbox or in-process) sends each call as a plain request dict; this module turns it
into a call on the shared `LLMClient` with the run's agent model, and records what happened for the
example's trace. One `ExampleCalls` lives for one example, so repeated identical requests within an
example get distinct sample indices (distinct cache keys) while a re-run of the same example hits the
cache in the same order.

It also keeps what the host knows of the provider's trouble on this example (`provider_trouble`): a
call that failed because of the provider, or a call still being retried when the example ended (its
time limit ran out while the provider was failing). Agent code can neither hide nor forge either.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import TYPE_CHECKING, Any

from agentkit.errors import AgentkitError, ProviderAuthError
from agentkit.records import AgentFailure, LLMCallTrace, clip
from agentkit.sandbox import llm_error_reply

if TYPE_CHECKING:
    from agentkit.llm import LLMClient, ModelConfig


def _flatten(messages: list[dict[str, Any]]) -> str:
    return "\n\n".join(f"[{m.get('role', '?')}] {m.get('content', '')}" for m in messages)


class ExampleCalls:
    """Answers one example's model calls and keeps their trace and usage."""

    def __init__(self, client: LLMClient, model: ModelConfig, *, trace_chars: int = 2000) -> None:
        self._client = client
        self._model = model
        self._trace_chars = trace_chars
        self._seen: dict[str, int] = {}
        self.trace: list[LLMCallTrace] = []
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost_usd: float | None = 0.0
        self.provider_error: str | None = None
        """Why a model call of this example failed because of the provider (None while none did)."""
        self.budget_error: str | None = None
        """Why the budget refused a model call of this example (None while it refused none)."""
        self.auth_error: ProviderAuthError | None = None
        """The provider refused the credentials on a call of this example: the evaluator raises it
        once the example ends, whatever agent code made of the failed call."""
        self._retrying: dict[int, str] = {}
        self._stalled: str | None = None
        self._delayed: str | None = None
        self._next_call = 0

    def provider_trouble(self) -> str | None:
        """Why this example cannot be scored fairly, if the provider is to blame: a call failed because
        of it, a call was being retried (the provider failing) when the example ended, or some call had
        to wait for the provider (retries, a paused model) and so used up part of the example's time.
        None else; the evaluator only blames the provider for a failure or a time-out."""
        if self.provider_error is not None:
            return self.provider_error
        if self._stalled is not None:
            return self._stalled
        if self._retrying:
            return next(iter(self._retrying.values()))
        return self._delayed

    def settle(
        self, answer: str | None, error: AgentFailure | None
    ) -> tuple[str | None, AgentFailure | None]:
        """The example's answer and failure once its run ended, with the provider's and the budget's
        part decided here: raises the `ProviderAuthError` of a refused key (whatever agent code made of
        the failed call); a failure of kind "provider" or "budget" that no call had is agent code's
        forgery (an exception); when the provider failed a call, or made the example run out of time,
        or the budget refused a call, the outcome is that failure (the example is left unscored),
        never the answer the agent made without the reply."""
        if self.auth_error is not None:
            raise self.auth_error
        trouble = self.provider_trouble()
        heard = {"provider": self.provider_error, "budget": self.budget_error}
        if error is not None and error.kind in heard and heard[error.kind] is None:
            error = AgentFailure(kind="exception", message=error.message, traceback=error.traceback)
        if self.budget_error is not None and self.provider_error is None:
            # The agent ran without a reply it asked for: whatever it made of that says nothing of it.
            return None, AgentFailure(kind="budget", message=self.budget_error)
        if trouble is not None and (self.provider_error is not None or (error and error.kind == "timeout")):
            return None, AgentFailure(kind="provider", message=trouble)
        return answer, error

    def _sample_index(self, request: dict[str, Any]) -> int:
        key = hashlib.sha256(
            json.dumps(
                [request.get("messages"), request.get("fields"), request.get("temperature")],
                sort_keys=True,
                default=str,
            ).encode()
        ).hexdigest()
        index = self._seen.get(key, 0)
        self._seen[key] = index + 1
        return index

    async def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request from agent code (the `LLMHandler` the runners expect)."""
        messages = request.get("messages") or []
        # No "fields" key (older callers) means one answer; an empty list is a call that asks for no
        # field (ADAS's LLMAgentBase([], ...)): made and recorded like any other, read as no fields.
        given_fields = request.get("fields")
        fields = ["answer"] if given_fields is None else [str(f) for f in given_fields]
        temperature = request.get("temperature")
        # The runtime numbers repeats of an identical prompt itself; count here for older callers.
        given = request.get("sample_index")
        sample_index = int(given) if isinstance(given, int) else self._sample_index(request)
        temp = float(temperature) if temperature is not None else None
        parsed: dict[str, str] = {}
        parse_error: str | None = None
        self._next_call += 1
        call_id = self._next_call

        def on_retry(reason: str) -> None:
            self._retrying[call_id] = f"{self._model.model}: still retrying when the example ended ({reason})"
            if self._delayed is None:
                self._delayed = f"{self._model.model}: the provider delayed a call ({reason}) and the example ran out of time"

        try:
            if fields:
                result = await self._client.complete_fields(
                    messages,
                    self._model,
                    fields,
                    role="agent",
                    temperature=temp,
                    sample_index=sample_index,
                    strict=False,
                    on_retry=on_retry,
                )
                completion, parsed, parse_error = result.completion, result.fields, result.parse_error
            else:
                completion = await self._client.complete(
                    messages,
                    self._model,
                    role="agent",
                    temperature=temp,
                    sample_index=sample_index,
                    json_mode=True,
                    on_retry=on_retry,
                )
        except AgentkitError as exc:  # BudgetExceeded among them: agent code sees kind "budget"
            if isinstance(exc, ProviderAuthError) and self.auth_error is None:
                self.auth_error = exc
            reply = llm_error_reply(exc)
            if reply["error_kind"] == "provider" and self.provider_error is None:
                self.provider_error = reply["error"]
            if reply["error_kind"] == "budget" and self.budget_error is None:
                self.budget_error = reply["error"]
            return reply
        except asyncio.CancelledError:
            # The example ended (its time ran out) while this call waited: if on a failing provider,
            # that is why, and the example is not the agent's to lose.
            if call_id in self._retrying and self._stalled is None:
                self._stalled = self._retrying[call_id]
            raise
        finally:
            self._retrying.pop(call_id, None)
        self.calls += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        if self.cost_usd is not None:
            self.cost_usd = None if completion.cost_usd is None else self.cost_usd + completion.cost_usd
        self.trace.append(
            LLMCallTrace(
                agent_name=str(request.get("agent_name") or ""),
                prompt=clip(_flatten(messages), self._trace_chars),
                reply=clip(completion.text, self._trace_chars),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost_usd=completion.cost_usd,
                cached=completion.cached,
                latency_s=completion.latency_s,
                parse_error=parse_error,
            )
        )
        return {"fields": parsed, "raw": completion.text, "parse_error": parse_error}
