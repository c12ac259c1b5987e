"""What a model call returns."""

from __future__ import annotations

from pydantic import BaseModel


class Completion(BaseModel):
    """One model reply with what it cost."""

    text: str
    """The reply's text."""
    model: str
    """The model string the call used (as in its ModelConfig, e.g. ``local`` or ``openai/gpt-4o-mini``)."""
    role: str
    """Who asked: ``meta``, ``agent``, ``reflect`` or another label used for accounting."""
    prompt_tokens: int = 0
    """Prompt tokens billed for this call (0 on a cache hit)."""
    completion_tokens: int = 0
    """Completion tokens billed for this call (0 on a cache hit)."""
    cost_usd: float | None = None
    """Dollars billed for this call from litellm's price map; None when the model has no known price,
    0.0 on a cache hit."""
    cached: bool = False
    """True when the reply came from the cache and nothing was sent."""
    latency_s: float = 0.0
    """Wall time of the call, retries and waits included."""
    sample_index: int = 0
    """Which of several samples of the same request this is (part of the cache key)."""
    attempts: int = 0
    """Requests sent for this call (0 on a cache hit; above 1 when it was retried)."""


class StructuredCompletion(BaseModel):
    """A reply parsed into named fields."""

    fields: dict[str, str]
    """Every requested field, in the order requested; a field that was not found is ``""``."""
    completion: Completion
    """The underlying reply, with its raw text."""
    parse_error: str | None = None
    """Why some fields could not be read (None when all were found)."""
