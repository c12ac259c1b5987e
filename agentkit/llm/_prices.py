"""What a model call costs, and whether a dollar budget can be enforced for a model at all.

A dollar limit stops a call only if the call's worst-case cost is known before it is sent. A model with
no known price would be reserved at $0 and never stopped, so a dollar limit would be silently no limit.
A client with a dollar limit therefore refuses such a model with a `ConfigError` before anything is
sent (`check_budget`), naming the ways out: give the model's price, or limit tokens or calls instead.

Where the price of a model comes from (the first that has one):

1. the model's own configuration: `ModelConfig.price_in_per_mtok` and `price_out_per_mtok`;
2. a price given for the model's name with `set_price` (what ``--price MODEL=IN,OUT`` on the command line
   does, so that it reaches every configuration a search builds from that name);
3. the embedded ``local`` model: $0 (it runs on this machine);
4. litellm's price map.

Prices are given in dollars per million tokens, prompt (in) and completion (out), as providers list them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agentkit.errors import ConfigError
from agentkit.llm import _litellm
from agentkit.llm._config import LOCAL_MODEL, ModelConfig

if TYPE_CHECKING:
    from agentkit.llm._usage import Budget

_PER_MTOK = 1_000_000

_given: dict[str, tuple[float, float]] = {}
_given_lock = threading.Lock()


def set_price(model: str, input_per_mtok: float, output_per_mtok: float) -> None:
    """Price every call to the model named `model` (for the whole process) at `input_per_mtok` dollars
    per million prompt tokens and `output_per_mtok` per million completion tokens. It takes precedence
    over litellm's price map; a `ModelConfig` with its own price fields still uses those."""
    name = model.strip()
    if not name:
        raise ConfigError("set_price: the model name is empty")
    for label, value in (("input", input_per_mtok), ("output", output_per_mtok)):
        if not value >= 0:  # also refuses NaN
            raise ConfigError(f"set_price: the {label} price of {name!r} must be >= 0, got {value!r}")
    with _given_lock:
        _given[name] = (float(input_per_mtok), float(output_per_mtok))


def unset_price(model: str) -> None:
    """Forget a price given with `set_price` (no error when none was)."""
    with _given_lock:
        _given.pop(model.strip(), None)


def given_price(model: str) -> tuple[float, float] | None:
    """The price given with `set_price` for `model`, as (input, output) dollars per million tokens."""
    with _given_lock:
        return _given.get(model.strip())


def price_for(config: ModelConfig) -> _litellm.Price | None:
    """The price of `config`'s calls per token, None when it is known nowhere (see the module doc).
    Imports litellm when the price has to come from its map."""
    own: tuple[float, float] | None
    if config.price_in_per_mtok is not None and config.price_out_per_mtok is not None:
        own = (config.price_in_per_mtok, config.price_out_per_mtok)
    else:
        own = given_price(config.model)
    if own is None and config.model == LOCAL_MODEL:
        own = (0.0, 0.0)
    listed = None if config.model == LOCAL_MODEL else _litellm.price_of(config.model)
    if own is None:
        return listed
    limit = listed.max_output_tokens if listed is not None else None
    return _litellm.Price(own[0] / _PER_MTOK, own[1] / _PER_MTOK, limit)


def _own_price(config: ModelConfig) -> bool:
    """Whether `config` is priced without litellm's map (its own fields, `set_price`, or ``local``)."""
    return (
        config.price_in_per_mtok is not None
        or given_price(config.model) is not None
        or config.model == LOCAL_MODEL
    )


def cost_of(config: ModelConfig, reply: _litellm.RawReply) -> float | None:
    """Dollars of one reply of `config`'s model, None when its price is known nowhere (never a guess)."""
    if not _own_price(config):
        return _litellm.cost_of(config.model, reply)
    price = price_for(config)
    assert price is not None  # priced by its own fields, set_price or as the local model
    return reply.prompt_tokens * price.input_per_token + reply.completion_tokens * price.output_per_token


def failed_call_cost(config: ModelConfig) -> float | None:
    """What a sent call that got no reply is booked at: unknown (None) for a model with no known price,
    0.0 for a priced one (nothing is known to have been spent)."""
    try:
        return None if price_for(config) is None else 0.0
    except Exception:  # a price lookup must not hide the call's own failure
        return None


def check_budget(budget: Budget | None, models: Iterable[ModelConfig | str]) -> None:
    """Raise ConfigError, before any call, when `budget` has a dollar limit and one of `models` has no
    known price (so the limit could not stop its calls). Names such models and the ways out."""
    if budget is None or budget.max_cost_usd is None:
        return
    unpriced: list[str] = []
    for model in models:
        config = model if isinstance(model, ModelConfig) else ModelConfig(model=model)
        priced = _own_price(config) or _litellm.price_of(config.model) is not None
        if not priced and config.model not in unpriced:
            unpriced.append(config.model)
    if not unpriced:
        return
    names = ", ".join(repr(name) for name in unpriced)
    which = f"model {names} (litellm's price map does not list it)"
    if len(unpriced) > 1:
        which = f"models {names} (litellm's price map does not list them)"
    example = unpriced[0]
    raise ConfigError(
        f"the dollar budget (${budget.max_cost_usd:g}) cannot be enforced: no price is known for "
        f"{which}, so its calls would count as $0 and never stop. Give the price in dollars per million "
        f"tokens in and out (command line: --price {example}=IN,OUT; Python: ModelConfig(price_in_per_mtok=..., price_out_per_mtok=...) or "
        f"agentkit.llm.set_price), or limit tokens or calls instead (--budget-tokens / --budget-calls, "
        f"Budget(max_tokens=...) / Budget(max_calls=...))"
    )
