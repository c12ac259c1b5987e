"""Model configuration: one object per model, and the rule that picks a model from a name."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentkit.errors import ConfigError

LOCAL_MODEL = "local"
"""The name of the embedded llama.cpp model (no key, no network)."""

DEFAULT_MAX_INFLIGHT = 16
"""A model's default limit on requests in flight (`ModelConfig.max_concurrency`)."""

# A cheap, capable default per provider key, tried in this order when no model is named.
# Each name is in litellm's price map, so costs are known.
_DEFAULTS_BY_KEY: tuple[tuple[str, str], ...] = (
    ("OPENAI_API_KEY", "openai/gpt-4o-mini"),
    ("ANTHROPIC_API_KEY", "anthropic/claude-haiku-4-5"),
    ("GEMINI_API_KEY", "gemini/gemini-2.5-flash-lite"),
    ("GROQ_API_KEY", "groq/openai/gpt-oss-20b"),
    ("MISTRAL_API_KEY", "mistral/mistral-small-latest"),
    ("DEEPSEEK_API_KEY", "deepseek/deepseek-chat"),
)


class ModelConfig(BaseModel):
    """How to reach one model and how to treat it (limits, retries). Immutable; copy to change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """litellm's ``provider/name`` (e.g. ``openai/gpt-4o-mini``), or ``local`` for the embedded model."""
    api_base: str | None = None
    """Base URL of an OpenAI-compatible endpoint; None uses the provider's default."""
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    """Key for the endpoint. Never part of a cache key, a repr, a dump or a log line."""
    temperature: float = 0.5
    """Sampling temperature used when a call does not give one."""
    max_tokens: int | None = 1024
    """Completion token limit used when a call does not give one; None sends no limit."""
    timeout_s: float = 60.0
    """Time limit of one attempt, in seconds; an attempt that runs over is retried."""
    max_concurrency: int = Field(default=DEFAULT_MAX_INFLIGHT, ge=1)
    """Requests in flight to this model (same model and api_base), shared by the whole process."""
    retry_for_s: float = Field(default=300.0, ge=0.0)
    """How long one call keeps trying, in seconds from its first attempt: no new attempt starts after
    that (an attempt under way runs to its own `timeout_s`). Real providers' rate-limit windows are a
    minute and outages last minutes, so the default is five minutes; tests set it short."""
    max_attempts: int | None = Field(default=None, ge=1)
    """Attempts per call, the first one included; None (the default) bounds retries by time only."""
    retry_base_s: float = Field(default=0.5, gt=0.0)
    """Scale of the exponential backoff: the wait after attempt n lies between half and all of
    ``retry_base_s * 2**(n-1)`` (random, so that clients do not retry in step), at most
    `retry_max_wait_s`. A provider's Retry-After (seconds or an HTTP date, on any retried status)
    replaces it. Either is cut to what is left of `retry_for_s`."""
    retry_max_wait_s: float = Field(default=30.0, gt=0.0)
    """The longest backoff between two attempts (a provider's Retry-After may ask for longer)."""
    breaker_failures: int | None = Field(default=5, ge=1)
    """Failed requests among the last `breaker_window` to this model (and api_base) that open its circuit
    breaker: new requests then wait `breaker_pause_s` instead of being sent, then one probe goes through
    (see `agentkit.llm._breaker`). Failures are the provider's (timeouts, dropped connections, 5xx, 429
    and the other retried statuses). None switches the breaker off."""
    breaker_give_up_s: float | None = Field(default=60.0, gt=0.0)
    """How long the model may answer nothing (its breaker open, every probe failed) before calls stop
    waiting for it: they then fail at once as the provider's failure (unscored, never a 0) while probes
    go on, and wait again once one is answered. None: held calls wait as long as their example may."""
    breaker_window: int = Field(default=8, ge=1)
    """How many of the latest finished requests the breaker looks at."""
    breaker_pause_s: float = Field(default=4.0, gt=0.0)
    """The first pause of an opened breaker, in seconds; it doubles after each failed probe and is back
    to this once the model answers."""
    breaker_max_pause_s: float = Field(default=60.0, gt=0.0)
    """The longest pause between two probes."""
    price_in_per_mtok: float | None = Field(default=None, ge=0)
    """Dollars per million prompt tokens, for a model litellm has no price for (or to override its
    price); give `price_out_per_mtok` too. None: the price from `agentkit.llm.set_price` or litellm's
    map. A dollar budget refuses a model whose price is known nowhere (see `agentkit.llm._prices`)."""
    price_out_per_mtok: float | None = Field(default=None, ge=0)
    """Dollars per million completion tokens; given together with `price_in_per_mtok`."""

    @model_validator(mode="after")
    def _whole_price(self) -> ModelConfig:
        if (self.price_in_per_mtok is None) != (self.price_out_per_mtok is None):
            raise ValueError("give both price_in_per_mtok and price_out_per_mtok, or neither")
        return self


def inflight_limit(concurrency: int, max_inflight: int | None = None) -> int:
    """The in-flight limit of a model called by a run with `concurrency` examples at once: `max_inflight`
    when given, else `concurrency`, never below `DEFAULT_MAX_INFLIGHT` (an example may make several
    calls at once; a run with few examples at once keeps what the model had)."""
    if max_inflight is not None:
        return max(1, max_inflight)
    return max(concurrency, DEFAULT_MAX_INFLIGHT)


def _default_model_name() -> str:
    for key, model in _DEFAULTS_BY_KEY:
        if os.environ.get(key):
            return model
    return LOCAL_MODEL


def resolve_model(name: str | None, **overrides: Any) -> ModelConfig:
    """The ModelConfig for `name`, with `overrides` applied to its fields.

    ``None`` picks a cheap default for the first provider whose key is set in the environment
    (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...) and the embedded ``local`` model when none is.
    Any other name is passed to litellm as it is (``provider/name``).
    """
    chosen = _default_model_name() if name is None else name.strip()
    if not chosen:
        raise ConfigError("model name is empty")
    try:
        return ModelConfig(model=chosen, **overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid model settings for {chosen!r}: {exc}") from exc
