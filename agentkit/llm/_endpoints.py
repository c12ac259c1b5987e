"""What a model name stands for: the endpoint a call goes to, what identifies it in the reply cache, and
the worst case of a call for the budget."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable

from agentkit.llm import _http, _litellm, _prices
from agentkit.llm._config import LOCAL_MODEL, ModelConfig
from agentkit.llm._usage import estimate_prompt_tokens

LOCAL_LITELLM_MODEL = "openai/smollm2"
"""How litellm addresses the embedded llama.cpp server."""

# Completion tokens assumed for the budget when neither the call nor the price map gives a limit.
_UNKNOWN_OUTPUT_LIMIT = 8192

BASE_URL_VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_BASE")
"""Where ``openai/...`` models are served when their config names no api_base, first set first (the
variables the openai SDK and litellm read, in litellm's order)."""


def api_base_of(config: ModelConfig) -> str | None:
    """The endpoint `config`'s calls go to: its own api_base; for an ``openai/...`` model without one,
    ``OPENAI_BASE_URL`` or else ``OPENAI_API_BASE`` from the environment; None: the provider's default.
    An api_base in the config (``--api-base``) always wins over the environment."""
    if config.api_base or not config.model.startswith("openai/"):
        return config.api_base
    for variable in BASE_URL_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    return None


def endpoint_settings(api_base: str | None) -> dict[str, object]:
    """ModelConfig fields for a model served at `api_base` ({} for None): the address and a key. A
    self-hosted OpenAI-compatible server ignores the key, but the client needs one: the environment's
    ``OPENAI_API_KEY`` where set, else a placeholder."""
    if api_base is None:
        return {}
    return {"api_base": api_base, "api_key": os.environ.get("OPENAI_API_KEY", "x")}


def cache_endpoint(config: ModelConfig) -> str | None:
    """What serves `config.model`, for the reply cache: the model file of the embedded model, the
    api_base of a self-hosted one (`api_base_of`: the environment's, too), None for a provider's
    default endpoint."""
    if config.model == LOCAL_MODEL:
        from agentkit.llm._local_install import model_file_identity

        return model_file_identity()
    api_base = api_base_of(config)
    return api_base.rstrip("/") if api_base else None


def uses_litellm(config: ModelConfig) -> bool:
    """Whether calls to `config`'s model need litellm (see `agentkit.llm._catalog`): not for the
    embedded model, nor for a self-hosted ``openai/<name>`` whose name litellm does not know."""
    if config.model == LOCAL_MODEL:
        return False
    return _litellm.needs_litellm(config.model, api_base_of(config))


def prepare_models(models: Iterable[ModelConfig | None]) -> None:
    """Start, in the background, what calls to `models` will need and takes long to get ready: the
    import of litellm (seconds) when one of them needs it (`uses_litellm`), else of aiohttp (a few
    hundred milliseconds) for an HTTPS endpoint called directly. A command calls this as
    soon as it knows its models, so that the import overlaps with loading the task and starting the
    sandbox; the first call then waits for that import instead of starting its own."""
    chosen = [model for model in models if model is not None]
    if any(uses_litellm(model) for model in chosen):
        _litellm.start_import()
    direct = [model for model in chosen if not uses_litellm(model) and model.model != LOCAL_MODEL]
    if any(_http.needs_aiohttp(api_base_of(model)) for model in direct):
        _http.start_import()  # the direct path's HTTPS client


async def resolve_endpoint(config: ModelConfig) -> tuple[str, str | None, str | None]:
    """(litellm model, api_base, api_key) for a config; starts the embedded server for ``local``."""
    if config.model != LOCAL_MODEL:
        return config.model, api_base_of(config), config.api_key
    from agentkit.llm._local import ensure_local_server

    api_base = await asyncio.to_thread(ensure_local_server)
    return LOCAL_LITELLM_MODEL, api_base, "x"


def worst_case(
    model: ModelConfig, messages: list[dict[str, str]], max_tokens: int | None
) -> tuple[int, float | None]:
    """Upper bounds on the tokens and dollars of one call (see agentkit.llm._usage)."""
    price = _prices.price_for(model)
    prompt = estimate_prompt_tokens(messages)
    if max_tokens is not None:
        completion = max_tokens
    elif price is not None and price.max_output_tokens:
        completion = price.max_output_tokens
    else:
        completion = _UNKNOWN_OUTPUT_LIMIT
    if price is None:
        return prompt + completion, None
    return prompt + completion, prompt * price.input_per_token + completion * price.output_per_token
