"""LLMClient: the one door every model call goes through (cache, budget, limit, retries, usage)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from agentkit.errors import BudgetExceeded, ProviderAuthError, ProviderError, StructuredOutputError
from agentkit.llm import _litellm, _prices
from agentkit.llm._breaker import PauseListener, Pauses
from agentkit.llm._cache import ReplyCache, cache_key, default_cache_dir
from agentkit.llm._config import LOCAL_MODEL, ModelConfig
from agentkit.llm._endpoints import cache_endpoint, resolve_endpoint, uses_litellm, worst_case
from agentkit.llm._http import SessionPool
from agentkit.llm._limiter import limiter_for
from agentkit.llm._results import Completion, StructuredCompletion
from agentkit.llm._retry import AttemptCounter, RetryListener, call_with_retries
from agentkit.llm._shared import BudgetGate, ReplyStore
from agentkit.llm._structured import field_names, format_instruction, parse_fields, with_instruction
from agentkit.llm._usage import Budget, CallRecord, Ledger, UsageReport

T = TypeVar("T")

CallListener = Callable[[CallRecord], None]
"""Called with every finished call (see `LLMClient.add_listener`)."""

# Endpoints (litellm model, api_base) that answered 400 to response_format: asked for JSON by prompt only.
_no_json_mode: set[tuple[str, str | None]] = set()
_no_json_mode_lock = threading.Lock()


class LLMClient:
    """Async client for chat models, shared by everything in a run.

    Each call: look up the cache (a hit is free and marked ``cached``); reserve the call's worst case
    against the budget (``BudgetExceeded`` before anything is sent); wait for a slot of the model's
    process-wide concurrency limit; send through litellm with retries; settle usage and cost per model
    and role; store the reply. Safe to share between tasks, threads and event loops.

    Self-hosted OpenAI-compatible endpoints (``openai/<name>`` or ``local``, with an api_base) are
    called directly over HTTP, everything else through litellm (see `agentkit.llm._litellm`); a client
    that only calls such endpoints never imports litellm (`agentkit.llm._catalog` says when).

    Listeners (`listeners`, `add_listener`) hear of every call as it settles, as a `CallRecord` (cache
    hits, budget refusals and failures included), on the thread that made the call. That is how a
    search books each call's usage in its archive the moment it is spent. A listener that raises makes
    the call raise: keep listeners small and sure.

    When most recent requests to a model fail, its circuit breaker (`agentkit.llm._breaker`) holds new
    calls for a while instead of sending them, then lets one probe through; pause listeners
    (`add_pause_listener`) hear when a model pauses and when it answers again.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | str | None = None,
        cache: bool = True,
        budget: Budget | None = None,
        listeners: list[CallListener] | None = None,
        budget_gate: BudgetGate | None = None,
        reply_store: ReplyStore | None = None,
    ) -> None:
        directory = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self._cache: ReplyStore | None = None
        if cache:
            self._cache = reply_store if reply_store is not None else ReplyCache(directory)
        # With a gate (one budget shared by a cluster's clients) the gate enforces `budget`; the ledger
        # only counts this client's usage.
        self._gate = budget_gate
        self._ledger = Ledger(budget, enforce=budget_gate is None)
        self._http = SessionPool()
        self._listeners: list[CallListener] = list(listeners or [])
        # (model, api_base) whose provider refused the credentials: later calls get the same error unsent.
        self._refused: dict[tuple[str, str | None], ProviderAuthError] = {}
        self._pauses = Pauses()

    def add_listener(self, listener: CallListener) -> None:
        """Call `listener` with a `CallRecord` after every call of this client, until removed."""
        self._listeners.append(listener)

    def remove_listener(self, listener: CallListener) -> None:
        """Stop calling `listener` (no error when it was not added)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def add_pause_listener(self, listener: PauseListener) -> None:
        """Call `listener` with a `ModelPause` when a model's calls pause (its circuit breaker opened:
        "model X not answering, pausing Ns") and when they continue, until removed."""
        self._pauses.listeners.append(listener)

    def remove_pause_listener(self, listener: PauseListener) -> None:
        """Stop calling `listener` (no error when it was not added)."""
        if listener in self._pauses.listeners:
            self._pauses.listeners.remove(listener)

    def _heard(self, record: CallRecord) -> None:
        for listener in tuple(self._listeners):
            listener(record)

    @property
    def budget(self) -> Budget | None:
        """The hard budget in force (None: unlimited)."""
        return self._ledger.budget

    @property
    def cache_path(self) -> Path | None:
        """The SQLite cache file, None when caching is off."""
        return self._cache.path if isinstance(self._cache, ReplyCache) else None

    def check_budget(self, models: list[ModelConfig | str]) -> None:
        """Raise ConfigError now if this client's dollar limit could not be enforced for one of `models`
        (no price known for it, see `agentkit.llm._prices`). Every call checks its own model this way
        before anything is sent; a run checks all its models up front, so it refuses to start instead
        of failing at its first call to such a model. Imports litellm when a dollar limit is set."""
        _prices.check_budget(self.budget, models)

    def usage(self) -> UsageReport:
        """Calls, cache hits, tokens and cost so far, in total, per model and per role."""
        return self._ledger.report()

    async def complete(
        self,
        messages: list[dict[str, str]],
        model: ModelConfig | str,
        *,
        role: str = "agent",
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_mode: bool = False,
        sample_index: int = 0,
        json_keys: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        on_retry: RetryListener | None = None,
    ) -> Completion:
        """One chat completion. `model` is a ModelConfig or a model name (configured by `resolve_model`);
        `temperature`/`max_tokens` default to the model's configuration.

        `json_mode` asks the provider for a JSON object (dropped for endpoints that refuse it);
        `json_schema` is a whole JSON schema the reply must follow, enforced the same way (it takes the
        place of the schema built from `json_keys`; other servers only get JSON mode).
        `json_keys` names the keys it must have, enforced as a grammar where the server can (the
        embedded llama.cpp model, which otherwise often returns valid JSON with the wrong keys).
        `sample_index` tells repeated samples of the same request apart in the cache. `on_retry` is
        called with the reason each time an attempt failed and is retried (the evaluator uses it to
        tell a provider's trouble from the agent's).
        Raises BudgetExceeded (nothing sent) or ProviderError (after retries); ProviderAuthError when
        the provider refused the credentials (not retried; every later call of this client to the same
        model gets it too, unsent); ConfigError (nothing sent, not even a cached reply) when the budget
        has a dollar limit and `model` has no known price.
        """
        _check_messages(messages)
        model = as_model_config(model)
        needs_litellm = uses_litellm(model)
        if self.budget is not None and self.budget.max_cost_usd is not None:
            if needs_litellm:  # its price map prices the model
                await _litellm.ensure_litellm()
            _prices.check_budget(self.budget, [model])
        started = time.perf_counter()
        temp = model.temperature if temperature is None else temperature
        limit = model.max_tokens if max_tokens is None else max_tokens
        key = None
        if self._cache is not None:
            key = cache_key(
                model=model.model,
                messages=messages,
                temperature=temp,
                max_tokens=limit,
                json_mode=json_mode,
                sample_index=sample_index,
                json_keys=json_keys,
                json_schema=json_schema,
                endpoint=cache_endpoint(model),
            )
            hit = await asyncio.to_thread(self._cache.get, key)
            if hit is not None:
                latency = time.perf_counter() - started
                self._ledger.record_hit(model=model.model, role=role, latency_s=latency)
                self._heard(CallRecord(model=model.model, role=role, cached=True, cost_usd=0.0))
                return Completion(
                    text=hit.text,
                    model=model.model,
                    role=role,
                    cost_usd=0.0,
                    cached=True,
                    latency_s=latency,
                    sample_index=sample_index,
                )

        refused = self._refused.get((model.model, model.api_base))
        if refused is not None:
            self._heard(CallRecord(model=model.model, role=role, error=refused))
            raise refused
        if needs_litellm:  # waits for the import started in the background, or starts it
            await _litellm.ensure_litellm()
        try:
            await self._pauses.hold(model, on_retry)  # a paused model: wait before reserving anything
        except ProviderError as exc:  # it gave up waiting (the model has answered nothing for long)
            self._heard(CallRecord(model=model.model, role=role, error=exc))
            raise
        tokens, cost = worst_case(model, messages, limit)
        ticket: object | None = None
        try:
            if self._gate is not None:
                ticket = await self._gate.reserve(tokens=tokens, cost_usd=cost)
            reservation = self._ledger.reserve(tokens=tokens, cost_usd=cost)
        except BudgetExceeded as exc:
            self._heard(CallRecord(model=model.model, role=role, error=exc))
            raise
        counter = AttemptCounter()
        reply: _litellm.RawReply | None = None
        cost_usd: float | None = None
        failure: BaseException | None = None
        try:
            reply = await self._send(
                model, messages, temp, limit, json_mode, counter, json_keys, json_schema, on_retry
            )
            cost_usd = _prices.cost_of(model, reply)  # the embedded model's is known, and zero
        except BaseException as exc:
            failure = exc
            if isinstance(exc, ProviderAuthError):
                self._refused[(model.model, model.api_base)] = exc
            if counter.value:
                # A failed or cancelled request may have been billed: for a model with no known price
                # that is an unknown cost (None), counted as such; for a priced one nothing is known to
                # have been spent (0.0).
                cost_usd = _prices.failed_call_cost(model)
            raise
        finally:
            self._ledger.settle(
                reservation,
                model=model.model,
                role=role,
                prompt_tokens=reply.prompt_tokens if reply else 0,
                completion_tokens=reply.completion_tokens if reply else 0,
                cost_usd=cost_usd,
                attempts=counter.value,
                latency_s=time.perf_counter() - started,
                failed=reply is None,
            )
            if self._gate is not None:
                self._gate.settle(
                    ticket,
                    prompt_tokens=reply.prompt_tokens if reply else 0,
                    completion_tokens=reply.completion_tokens if reply else 0,
                    cost_usd=cost_usd,
                    attempts=counter.value,
                    failed=reply is None,
                )
            self._heard(
                CallRecord(
                    model=model.model,
                    role=role,
                    sent=counter.value > 0,
                    prompt_tokens=reply.prompt_tokens if reply else 0,
                    completion_tokens=reply.completion_tokens if reply else 0,
                    cost_usd=cost_usd,
                    error=failure,
                )
            )
        assert reply is not None  # an exception above would have left
        if key is not None and self._cache is not None:
            await asyncio.to_thread(
                self._cache.put,
                key,
                model=model.model,
                text=reply.text,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
            )
        return Completion(
            text=reply.text,
            model=model.model,
            role=role,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            cost_usd=cost_usd,
            cached=False,
            latency_s=time.perf_counter() - started,
            sample_index=sample_index,
            attempts=counter.value,
        )

    async def complete_fields(
        self,
        messages: list[dict[str, str]],
        model: ModelConfig | str,
        fields: list[str] | type[BaseModel],
        *,
        role: str = "agent",
        temperature: float | None = None,
        max_tokens: int | None = None,
        sample_index: int = 0,
        strict: bool = True,
        instruct: bool = True,
        on_retry: RetryListener | None = None,
    ) -> StructuredCompletion:
        """A completion parsed into named `fields` (names, or a pydantic model class's fields).

        Asks for a JSON object (provider JSON mode, plus a one-line instruction in the system message
        unless `instruct=False`) and parses the reply tolerantly. Every value comes back as a string
        (non-strings as JSON). With `strict`, a reply in which no requested field can be found raises
        StructuredOutputError carrying the raw text; otherwise missing fields are ``""`` and
        `parse_error` says why.
        """
        names = field_names(fields)
        model = as_model_config(model)
        sent = with_instruction(messages, format_instruction(fields)) if instruct else messages
        completion = await self.complete(
            sent,
            model,
            role=role,
            temperature=temperature,
            max_tokens=max_tokens,
            json_mode=True,
            sample_index=sample_index,
            json_keys=names,
            on_retry=on_retry,
        )
        parsed = parse_fields(completion.text, names)
        if strict and not parsed.found_any:
            raise StructuredOutputError(f"{model.model}: {parsed.error}", raw=completion.text)
        return StructuredCompletion(fields=parsed.fields, completion=completion, parse_error=parsed.error)

    def complete_sync(
        self,
        messages: list[dict[str, str]],
        model: ModelConfig | str,
        *,
        role: str = "agent",
        temperature: float | None = None,
        max_tokens: int | None = None,
        json_mode: bool = False,
        sample_index: int = 0,
    ) -> Completion:
        """`complete` for scripts without an event loop. Inside a running loop, ``await complete``."""
        return _run_sync(
            self.complete(
                messages,
                model,
                role=role,
                temperature=temperature,
                max_tokens=max_tokens,
                json_mode=json_mode,
                sample_index=sample_index,
            )
        )

    def complete_fields_sync(
        self,
        messages: list[dict[str, str]],
        model: ModelConfig | str,
        fields: list[str] | type[BaseModel],
        *,
        role: str = "agent",
        temperature: float | None = None,
        max_tokens: int | None = None,
        sample_index: int = 0,
        strict: bool = True,
        instruct: bool = True,
    ) -> StructuredCompletion:
        """`complete_fields` for scripts without an event loop. Inside a running loop, await it."""
        return _run_sync(
            self.complete_fields(
                messages,
                model,
                fields,
                role=role,
                temperature=temperature,
                max_tokens=max_tokens,
                sample_index=sample_index,
                strict=strict,
                instruct=instruct,
            )
        )

    async def aclose(self) -> None:
        """Close this loop's HTTP connections and the cache file. The client stays usable (both
        reopen on demand)."""
        await self._http.aclose()
        await _litellm.flush_logging()
        if self._cache is not None:
            await asyncio.to_thread(self._cache.close)

    def close(self) -> None:
        """`aclose` for code without an event loop."""
        if self._cache is not None:
            self._cache.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _send(
        self,
        config: ModelConfig,
        messages: list[dict[str, str]],
        temperature: float,
        max_tokens: int | None,
        json_mode: bool,
        counter: AttemptCounter,
        json_keys: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        on_retry: RetryListener | None = None,
    ) -> _litellm.RawReply:
        litellm_model, api_base, api_key = await resolve_endpoint(config)
        endpoint = (litellm_model, api_base)
        use_json = json_mode and endpoint not in _no_json_mode
        schema = json_schema if config.model == LOCAL_MODEL else None
        if schema is None and json_keys and config.model == LOCAL_MODEL:
            # llama.cpp's server turns a schema inside json_object into a grammar (its own extension).
            props = {k: {"type": "string", "minLength": 1} for k in json_keys}
            schema = {"type": "object", "properties": props, "required": list(json_keys)}
        limiter = limiter_for(litellm_model, api_base, config.max_concurrency)
        gate = self._pauses.gate(config, on_retry)

        async def attempt() -> _litellm.RawReply:
            async with limiter.slot(config.max_concurrency):
                try:
                    reply = await _litellm.acompletion(
                        model=litellm_model,
                        messages=messages,
                        api_base=api_base,
                        api_key=api_key,
                        temperature=temperature,
                        max_tokens=max_tokens,
                        timeout_s=config.timeout_s,
                        json_mode=use_json,
                        json_schema=schema if use_json else None,
                        http=self._http,
                    )
                except Exception as exc:
                    if _litellm.classify_error(exc).status == 429:
                        limiter.rate_limited()  # fewer requests at once until it recovers
                    raise
                limiter.succeeded()
                return reply

        try:
            return await call_with_retries(attempt, config, counter, on_retry, gate)
        except ProviderError as exc:
            if not (use_json and exc.status == 400):
                raise
        # Some OpenAI-compatible servers refuse response_format; the prompt asks for JSON anyway.
        use_json = False
        reply = await call_with_retries(attempt, config, counter, on_retry, gate)
        with _no_json_mode_lock:
            _no_json_mode.add(endpoint)
        return reply


def as_model_config(model: ModelConfig | str) -> ModelConfig:
    """`model` as a ModelConfig: a name (``"openai/gpt-4o-mini"``, ``"local"``) as `resolve_model`
    configures it; TypeError for anything else."""
    if isinstance(model, ModelConfig):
        return model
    if isinstance(model, str):
        from agentkit.llm._config import resolve_model

        return resolve_model(model)
    raise TypeError(f"model must be a ModelConfig or a model name, not {type(model).__name__}")


async def _then_flush(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return await coro
    finally:
        await _litellm.flush_logging()


def _check_messages(messages: list[dict[str, str]]) -> None:
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    for message in messages:
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise ValueError(f"not a chat message (needs 'role' and 'content'): {message!r}")


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_then_flush(coro))
    coro.close()
    raise RuntimeError(
        "complete_sync/complete_fields_sync cannot run inside a running event loop; "
        "use `await client.complete(...)` / `await client.complete_fields(...)` there"
    )
