"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from agentkit.llm import Budget

MODEL = typer.Option(
    None, "--model", "-m", help="Agent model: litellm 'provider/name', or 'local' (default without a key)."
)
API_BASE = typer.Option(
    None, "--api-base", help="OpenAI-compatible base URL for --model (e.g. a local server)."
)
TASK = typer.Option(
    ...,
    "--task",
    "-t",
    help="Task name: gsm8k, mgsm, drop, gsm-hard, svamp, asdiv, bbh/<task>, gen/<kind>, jsonl:<path>.",
)
DATA_DIR = typer.Option(
    None,
    "--data-dir",
    envvar="AGENTKIT_DATA_DIR",
    help="Folder with local task data (laid out like shared/data).",
)
LIMIT = typer.Option(
    50,
    "--limit",
    "-n",
    min=1,
    help="Number of examples: the first N of the task (all of it when it has fewer).",
)
CONCURRENCY = typer.Option(
    8,
    "--concurrency",
    "-c",
    min=1,
    help="Examples evaluated at once; also the model's requests in flight (at least 16).",
)
MAX_INFLIGHT = typer.Option(
    None,
    "--max-inflight",
    min=1,
    help="Requests in flight to the model at once (default: --concurrency, at least 16).",
)
AGENT_TEMPERATURE = typer.Option(
    None,
    "--agent-temperature",
    min=0.0,
    help="Sampling temperature of agents' model calls that give none (LLMAgentBase gives 0.5 unless told "
    "otherwise; default: the model's); a search's `agent_temperature`, so that a search's --config file "
    "scores agents as the search did.",
)
AGENT_MAX_TOKENS = typer.Option(
    None,
    "--agent-max-tokens",
    min=16,
    help="Longest reply of an agent's model call (default: the model's); a search's `agent_max_tokens`.",
)
ISOLATION = typer.Option(
    "auto", "--isolation", help="auto | bwrap | process | trusted (in-process, for reviewed code only)."
)
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the LLM response cache.")
JSON_OUT = typer.Option(False, "--json", help="Print machine-readable JSON instead of tables.")
SEED = typer.Option(
    0,
    "--seed",
    help="Seed for the bootstrap intervals (not the model's sampling; a generated task's questions are "
    "chosen with --opt seed=N).",
)
TIMEOUT = typer.Option(120.0, "--example-timeout", min=0.1, help="Wall-time limit per example, in seconds.")
TASK_OPTS = typer.Option(
    [],
    "--opt",
    help="Task option KEY=VALUE, repeatable: e.g. --opt seed=3 --opt difficulty=4 for gen/*, "
    "--opt input_field=question --opt target_field=answer --opt scorer=numeric for jsonl:<path>.",
)

BUDGET_USD = typer.Option(
    None, "--budget-usd", min=0, help="Hard limit on dollars (every model needs a known price: see --price)."
)
BUDGET_CALLS = typer.Option(None, "--budget-calls", min=0, help="Hard limit on model requests.")
BUDGET_TOKENS = typer.Option(None, "--budget-tokens", min=0, help="Hard limit on tokens.")
PRICE = typer.Option(
    [],
    "--price",
    help="A model's price in dollars per million tokens in and out, MODEL=IN,OUT (repeatable), e.g. "
    "--price openai/my-model=0.15,0.60: for models litellm has no price for, which --budget-usd refuses "
    "otherwise. Not stored with a run: give it again on --resume.",
)


def parse_prices(pairs: list[str]) -> dict[str, tuple[float, float]]:
    """``MODEL=IN,OUT`` strings (dollars per million tokens) as {model: (in, out)}."""
    prices: dict[str, tuple[float, float]] = {}
    for pair in pairs:
        model, sep, values = pair.rpartition("=")
        parts = values.split(",")
        try:
            numbers = tuple(float(p) for p in parts)
        except ValueError:
            numbers = ()
        if not sep or not model.strip() or len(numbers) != 2 or not all(n >= 0 for n in numbers):
            raise typer.BadParameter(
                f"expected MODEL=IN,OUT with two prices >= 0 in dollars per million tokens, got {pair!r}",
                param_hint="--price",
            )
        prices[model.strip()] = (numbers[0], numbers[1])
    return prices


@contextlib.contextmanager
def given_prices(pairs: list[str]) -> Iterator[None]:
    """The ``--price`` values in force (`agentkit.llm.set_price`) for the duration of a command."""
    from agentkit.llm._prices import given_price, set_price, unset_price

    prices = parse_prices(pairs)
    before = {model: given_price(model) for model in prices}
    for model, (price_in, price_out) in prices.items():
        set_price(model, price_in, price_out)
    try:
        yield
    finally:
        for model, old in before.items():
            if old is None:
                unset_price(model)
            else:
                set_price(model, *old)


def budget(usd: float | None, calls: int | None, tokens: int | None) -> Budget | None:
    """The `agentkit.llm.Budget` of the budget options, None when none is given."""
    if usd is None and calls is None and tokens is None:
        return None
    from agentkit.llm import Budget

    return Budget(max_cost_usd=usd, max_calls=calls, max_tokens=tokens)


def parse_task_opts(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as task options; integer-looking values become ints."""
    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--opt")
        opts[key.strip().replace("-", "_")] = int(value) if value.strip().lstrip("-").isdigit() else value
    return opts


def check_api_base(model: str | None, api_base: str | None) -> None:
    """--api-base names an OpenAI-compatible server: refuse it without a model that server serves (the
    default model is chosen by the keys set, and 'local' starts a server of its own: either way the
    address would be dropped without a word)."""
    from agentkit.errors import ConfigError
    from agentkit.llm import LOCAL_MODEL

    if api_base and (model is None or model.strip() == LOCAL_MODEL):
        raise ConfigError(
            "--api-base names an OpenAI-compatible server: give the model it serves as well, e.g. "
            "--model openai/<name> ('local' starts a server of its own)"
        )


def model_overrides(api_base: str | None, *, inflight: int | None = None) -> dict[str, object]:
    """ModelConfig fields implied by the shared options (`inflight`: see `inflight`)."""
    from agentkit.llm import endpoint_settings

    out: dict[str, object] = {} if inflight is None else {"max_concurrency": inflight}
    return out | endpoint_settings(api_base)


def inflight(concurrency: int, max_inflight: int | None) -> int:
    """The model's in-flight limit of ``--concurrency`` and ``--max-inflight``
    (`agentkit.llm.inflight_limit`): one flag sets both what runs at once and what the model gets."""
    from agentkit.llm import inflight_limit

    return inflight_limit(concurrency, max_inflight)
