"""Everything that touches litellm: the import (in the background), the call, error classification and
prices.

litellm takes seconds to import and, unless told otherwise, fetches its price map from the internet
on import; so it is imported only when some call needs it, with the bundled price map, in a background
thread (`start_import`): a command that knows it will need it starts the import at once, so that it
overlaps with loading the task and starting the sandbox, and the first call waits for that same
import instead of starting its own.

Calls to a self-hosted OpenAI-compatible server (``openai/<name>`` with an ``api_base``) skip litellm
and go straight over HTTP (`agentkit.llm._http`), with the body litellm would have sent: litellm costs
milliseconds of CPU per call, which bounds evaluation throughput. When litellm has nothing to say about
the name (no price, no renamed parameters: `agentkit.llm._catalog`), such calls never import it at all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import functools
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from agentkit.llm._catalog import litellm_knows
from agentkit.llm._http import HTTPStatusError, HTTPTransportError, SessionPool

_OPENAI_PREFIX = "openai/"
_start_lock = threading.Lock()
_import: concurrent.futures.Future[ModuleType] | None = None
_configured: ModuleType | None = None
imports_started = 0
"""How many times an import of litellm was started in this process (at most one; tests read it)."""


def _import_and_configure() -> ModuleType:
    global _configured
    import litellm

    litellm.suppress_debug_info = True
    _configured = litellm
    return litellm


def _run_import(future: concurrent.futures.Future[ModuleType]) -> None:
    try:
        future.set_result(_import_and_configure())
    except BaseException as exc:  # handed to whoever waits for the import
        future.set_exception(exc)


def start_import() -> None:
    """Start importing litellm in a background thread, once per process (later calls do nothing).
    `get_litellm` and `ensure_litellm` wait for this import rather than starting another."""
    global _import, imports_started
    with _start_lock:
        if _import is not None:
            return
        _import = concurrent.futures.Future()
        # Running from the start: a cancelled waiter (`asyncio.wrap_future` passes cancellation on)
        # cannot cancel the import that every other waiter shares.
        _import.set_running_or_notify_cancel()
        if _configured is not None:
            _import.set_result(_configured)
            return
        imports_started += 1
        # Set here, not in the thread: a `catch_warnings` block elsewhere would undo a filter added
        # while it runs.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        # litellm's provider types trip a pydantic notice on first use; it tells our users nothing.
        warnings.filterwarnings("ignore", message=r".*`ReadOnly` qualifier", category=UserWarning)
        thread = threading.Thread(target=_run_import, args=(_import,), name="agentkit-import-litellm")
        thread.daemon = True  # an exit before it finishes must not wait for it
        thread.start()


def get_litellm() -> ModuleType:
    """The litellm module, imported (once) with the local price map and quiet settings; waits for an
    import under way."""
    if _configured is not None:
        return _configured
    start_import()
    assert _import is not None
    return _import.result()


async def ensure_litellm() -> ModuleType:
    """`get_litellm` without blocking the event loop: awaits the (background) import."""
    if _configured is not None:
        return _configured
    start_import()
    assert _import is not None
    return await asyncio.wrap_future(_import)


def loaded() -> ModuleType | None:
    """litellm if it is imported and ready (by us or by the application), else None; never waits for
    an import or starts one."""
    if _configured is not None:
        return _configured
    if _import is None and "litellm" in sys.modules:
        return get_litellm()  # the application imported it: only our settings are left to apply
    return None


def needs_litellm(model: str, api_base: str | None) -> bool:
    """Whether a call to `model` (litellm's ``provider/name``) at `api_base` needs litellm: False only
    for ``openai/<name>`` at an endpoint of its own when litellm has nothing to say about the name."""
    if api_base is None or not model.startswith(_OPENAI_PREFIX):
        return True
    return litellm_knows(model[len(_OPENAI_PREFIX) :])


async def flush_logging(timeout_s: float = 2.0) -> None:
    """Let litellm's background logging tasks finish on this loop before it closes.

    litellm queues a logging coroutine per call on a worker bound to the running loop; when a sync
    wrapper's loop ends with some still queued, litellm carries them to the next loop and warns.
    """
    if _configured is None:
        return
    try:
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

        await asyncio.wait_for(GLOBAL_LOGGING_WORKER.flush(), timeout_s)
        # Its worker task is bound to this loop; stopped here, it restarts on the next call instead of
        # being destroyed pending when the loop closes (a noisy "Event loop is closed" warning).
        await asyncio.wait_for(GLOBAL_LOGGING_WORKER.stop(), timeout_s)
    except Exception:  # internal API of litellm; losing its logging is harmless
        return


@dataclass
class RawReply:
    """What one successful provider request gave back."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    response: Any


async def acompletion(
    *,
    model: str,
    messages: list[dict[str, str]],
    api_base: str | None,
    api_key: str | None,
    temperature: float,
    max_tokens: int | None,
    timeout_s: float,
    json_mode: bool,
    json_schema: dict[str, Any] | None = None,
    http: SessionPool | None = None,
) -> RawReply:
    """One request, no retries (the caller retries). Raises the provider's exceptions or TimeoutError.

    With `http` (the caller's sessions), a call that `direct_name` accepts is POSTed directly.
    """
    if http is not None:
        if needs_litellm(model, api_base):
            await ensure_litellm()  # direct_name asks it, and it is there for the call if not direct
        name = direct_name(model, api_base)
        if name is not None:
            assert api_base is not None  # direct_name requires one
            return await _direct_completion(
                http,
                name=name,
                messages=messages,
                api_base=api_base,
                api_key=api_key,
                temperature=temperature,
                max_tokens=max_tokens,
                timeout_s=timeout_s,
                json_mode=json_mode,
                json_schema=json_schema,
            )
    litellm = await ensure_litellm()
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "timeout": timeout_s,
        # We retry ourselves; the OpenAI SDK underneath would otherwise retry twice more, unseen.
        "max_retries": 0,
        "num_retries": 0,
        "drop_params": True,
    }
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    if api_base is not None:
        kwargs["api_base"] = api_base
    if api_key is not None:
        kwargs["api_key"] = api_key
    if json_mode:
        kwargs["response_format"] = {"type": "json_object"}
        if json_schema is not None:
            kwargs["response_format"]["schema"] = json_schema
    # litellm's own timeout is not honoured by every provider path; this one always is.
    async with asyncio.timeout(timeout_s + 1.0):
        response = await litellm.acompletion(**kwargs)
    choice = response.choices[0]
    text = getattr(choice.message, "content", None) or ""
    usage = getattr(response, "usage", None)
    return RawReply(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        response=response,
    )


# --- the direct path --------------------------------------------------------------------------------

# Every optional parameter the client sends, with representative values (see `_litellm_keeps_params`).
_OUR_PARAMS: dict[str, Any] = {
    "temperature": 0.5,
    "max_tokens": 16,
    "response_format": {"type": "json_object", "schema": {"type": "object"}},
}


def direct_name(model: str, api_base: str | None) -> str | None:
    """The model name to send directly to `api_base`, or None when the call must go through litellm.

    Direct only for ``openai/<name>`` with an api_base, when litellm would send our parameters
    unchanged for that name (not so for OpenAI's reasoning models, whose ``max_tokens`` it renames and
    whose temperature it drops) and when no litellm callback is registered (they would see nothing).
    A name litellm knows (`needs_litellm`) is checked with litellm itself: have it imported first.
    """
    if api_base is None or not model.startswith(_OPENAI_PREFIX):
        return None
    litellm = loaded()
    if litellm is not None and (litellm.model_alias_map or _has_callbacks(litellm)):
        return None
    name = model[len(_OPENAI_PREFIX) :]
    if not needs_litellm(model, api_base):
        return name
    return name if _litellm_keeps_params(name) else None


def _has_callbacks(litellm: ModuleType) -> bool:
    return bool(
        litellm.callbacks
        or litellm.input_callback
        or litellm.success_callback
        or litellm.failure_callback
        or litellm._async_success_callback
        or litellm._async_failure_callback
    )


@functools.lru_cache(maxsize=256)
def _litellm_keeps_params(name: str) -> bool:
    """True when litellm's OpenAI config for `name` passes our parameters through as they are."""
    get_litellm()
    try:
        from litellm.types.utils import LlmProviders
        from litellm.utils import ProviderConfigManager

        config = ProviderConfigManager.get_provider_chat_config(model=name, provider=LlmProviders.OPENAI)
        if config is None:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mapped = config.map_openai_params(
                non_default_params=dict(_OUR_PARAMS), optional_params={}, model=name, drop_params=True
            )
    except Exception:  # litellm's internals moved: stay on litellm, which is always right
        return False
    return bool(mapped == _OUR_PARAMS)


def chat_body(
    *,
    name: str,
    messages: list[dict[str, str]],
    temperature: float,
    max_tokens: int | None,
    json_mode: bool,
    json_schema: dict[str, Any] | None,
) -> dict[str, Any]:
    """The chat-completions body litellm sends for these fields (same keys, same order)."""
    body: dict[str, Any] = {"model": name, "messages": messages, "temperature": temperature}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if json_mode:
        response_format: dict[str, Any] = {"type": "json_object"}
        if json_schema is not None:
            # llama.cpp's server turns a schema inside json_object into a grammar (its own extension).
            response_format["schema"] = json_schema
        body["response_format"] = response_format
    return body


def _headers(api_key: str | None) -> dict[str, str]:
    # The key litellm would use: the call's, then litellm's globals, then the environment. Without
    # one, litellm refuses to send; a self-hosted server usually wants none, so we send without.
    litellm = _configured
    key = api_key
    if key is None and litellm is not None:
        key = litellm.api_key or litellm.openai_key
    key = key or os.environ.get("OPENAI_API_KEY")
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    organization = os.environ.get("OPENAI_ORGANIZATION")
    if organization:
        headers["OpenAI-Organization"] = organization
    return headers


async def _direct_completion(
    http: SessionPool,
    *,
    name: str,
    messages: list[dict[str, str]],
    api_base: str,
    api_key: str | None,
    temperature: float,
    max_tokens: int | None,
    timeout_s: float,
    json_mode: bool,
    json_schema: dict[str, Any] | None,
) -> RawReply:
    body = chat_body(
        name=name,
        messages=messages,
        temperature=temperature,
        max_tokens=max_tokens,
        json_mode=json_mode,
        json_schema=json_schema,
    )
    url = api_base.rstrip("/") + "/chat/completions"
    response = await http.post_json(url, body, _headers(api_key), timeout_s)
    try:
        message = response["choices"][0]["message"]
        text = message.get("content") or ""
        if not isinstance(text, str):
            raise TypeError(f"content is {type(text).__name__}")
        usage = response.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise HTTPTransportError(f"reply is not a chat completion ({type(exc).__name__}: {exc})") from exc
    return RawReply(text, prompt_tokens, completion_tokens, response)


# --- errors -----------------------------------------------------------------------------------------

# 408 timeout, 409 conflict (OpenAI uses it for transient lock conflicts), 425 too early, 429 rate limit.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class ErrorInfo:
    """How to treat an exception raised by a provider request."""

    provider: bool
    """True when the provider (or the way to it) failed, as opposed to a bug or a cancellation."""
    retryable: bool
    """True when trying again may help."""
    status: int | None
    """HTTP status, where one was seen."""
    retry_after: float | None
    """Seconds the provider asked us to wait, where it said."""
    message: str
    """One line for logs and errors."""


def classify_error(exc: BaseException) -> ErrorInfo:
    """Sort an exception into retryable / not retryable, with its status and Retry-After."""
    if isinstance(exc, TimeoutError):
        return ErrorInfo(True, True, None, None, "request timed out")
    if isinstance(exc, HTTPStatusError):
        retryable = exc.status in _RETRYABLE_4XX or exc.status >= 500
        retry_after = parse_retry_after(exc.headers) if retryable else None
        return ErrorInfo(True, retryable, exc.status, retry_after, f"HTTPStatusError: {_first_line(exc)}")
    if isinstance(exc, HTTPTransportError):
        return ErrorInfo(True, True, None, None, f"HTTPTransportError: {_first_line(exc)}")
    openai = sys.modules.get("openai")
    if openai is None or not isinstance(exc, openai.OpenAIError):
        return ErrorInfo(False, False, None, None, f"{type(exc).__name__}: {exc}")
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    message = f"{type(exc).__name__}: {_first_line(exc)}"
    if isinstance(exc, openai.APITimeoutError):
        return ErrorInfo(True, True, status, None, message)
    if isinstance(exc, openai.APIConnectionError):
        # litellm reports dropped connections and unreadable replies with a made-up status 500;
        # a real 4xx inside one is still final.
        final = status is not None and 400 <= status < 500 and status not in _RETRYABLE_4XX
        return ErrorInfo(True, not final, status, None, message)
    if status is None:
        # Provider errors without a status (unparseable reply, unexpected shape): worth another try.
        return ErrorInfo(True, True, None, None, message)
    retryable = status in _RETRYABLE_4XX or status >= 500
    return ErrorInfo(True, retryable, status, _retry_after(exc) if retryable else None, message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def _retry_after(exc: BaseException) -> float | None:
    headers: Any = None
    response = getattr(exc, "response", None)
    if response is not None:
        headers = getattr(response, "headers", None)
    for source in (headers, getattr(exc, "headers", None), getattr(exc, "litellm_response_headers", None)):
        seconds = parse_retry_after(source)
        if seconds is not None:
            return seconds
    return None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    try:
        lowered = {str(k).lower(): str(v) for k, v in dict(headers).items()}
    except (TypeError, ValueError):
        return None
    if "retry-after-ms" in lowered:
        try:
            return max(float(lowered["retry-after-ms"]) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


# --- prices -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """A model's price per token and its output limit, from litellm's price map."""

    input_per_token: float
    output_per_token: float
    max_output_tokens: int | None


@functools.lru_cache(maxsize=256)
def price_of(model: str) -> Price | None:
    """The price of `model` (litellm ``provider/name``), None when litellm does not know it. An
    ``openai/<name>`` that litellm's price map does not list is None without importing litellm."""
    if model.startswith(_OPENAI_PREFIX) and not litellm_knows(model[len(_OPENAI_PREFIX) :]):
        return None
    litellm = get_litellm()
    try:
        with warnings.catch_warnings():  # litellm's provider configs warn about pydantic internals
            warnings.simplefilter("ignore")
            info = litellm.get_model_info(model)
    except Exception:
        return None
    prompt, completion = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if prompt is None or completion is None:
        return None
    limit = info.get("max_output_tokens")
    return Price(float(prompt), float(completion), int(limit) if limit else None)


def cost_of(model: str, reply: RawReply) -> float | None:
    """Dollars of one reply, None when the model has no known price (never a guess)."""
    price = price_of(model)
    if price is None:
        return None
    litellm = get_litellm()
    try:
        return float(litellm.completion_cost(completion_response=reply.response, model=model))
    except Exception:
        return reply.prompt_tokens * price.input_per_token + reply.completion_tokens * price.output_per_token
