"""Usage accounting and the hard budget.

The budget is checked before a call is sent, against what is already spent *plus* what calls in flight
may still spend (their reservations). A call reserves its worst case, which it gives back when it
settles with the real numbers. So concurrent calls cannot cross a limit together.

Worst case of one call (see `estimate_prompt_tokens`): prompt tokens are at most the UTF-8 byte count of
the messages plus a fixed overhead per message (byte-level tokenizers never emit a token for less than
one byte); completion tokens are at most `max_tokens` (or the model's output limit when the call sets
none); dollars are those tokens at the model's price (see `agentkit.llm._prices`: a price given for the
model, else litellm's). A dollar limit could not see a model whose price is known nowhere, so a client
with one refuses such a model (ConfigError, nothing sent); without a dollar limit its calls are counted
as unpriced, and the call and token limits still apply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pydantic import BaseModel, Field

from agentkit.errors import BudgetExceeded

# Role markers and chat-template tokens around each message and before the reply.
_TOKENS_PER_MESSAGE = 8
_TOKENS_PER_REQUEST = 8


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    """An upper bound on the prompt tokens of `messages` (UTF-8 bytes plus template overhead)."""
    total = _TOKENS_PER_REQUEST
    for message in messages:
        total += _TOKENS_PER_MESSAGE
        for value in message.values():
            total += len(str(value).encode("utf-8"))
    return total


@dataclass(frozen=True)
class CallRecord:
    """One finished model call as `LLMClient` listeners see it: who asked, what it cost, how it ended.

    Every call is reported once, right after it settles: a cache hit (``cached``, free), a call the
    budget refused (``error`` is the `BudgetExceeded`, nothing sent), a call that failed after retries
    (``error`` set) and a successful one. ``sent`` says whether the call counted as a provider request
    in the usage (the amounts are then what it spent)."""

    model: str
    """The model's name as configured (``local``, ``openai/gpt-4o-mini`` ...)."""
    role: str
    """Who made the call (``agent``, ``meta``, ``reflection`` ...)."""
    sent: bool = False
    """Reached a provider, so it counts as a call in the usage."""
    cached: bool = False
    """Answered from the reply cache (free, not sent)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    """Dollars spent; None when the model has no known price (or nothing was sent)."""
    error: BaseException | None = None
    """Why the call failed (`BudgetExceeded` when the budget refused it); None on success."""


class Budget(BaseModel):
    """Hard limits on what one LLMClient may spend. None means no limit of that kind."""

    max_cost_usd: float | None = Field(default=None, ge=0)
    """Dollars. Every model called must then have a known price (litellm's, or one given with
    `ModelConfig.price_in_per_mtok` / `agentkit.llm.set_price`); the client refuses others."""
    max_calls: int | None = Field(default=None, ge=0)
    """Requests to providers (cache hits are free and not counted; a retried call counts once)."""
    max_tokens: int | None = Field(default=None, ge=0)
    """Prompt plus completion tokens."""


class UsageStats(BaseModel):
    """Counts for one model, one role, or everything."""

    calls: int = 0
    """Calls sent to a provider (cache hits not included)."""
    cache_hits: int = 0
    """Calls answered from the cache, at no cost."""
    errors: int = 0
    """Calls that failed for good (after retries)."""
    retries: int = 0
    """Extra attempts beyond the first, over all calls."""
    prompt_tokens: int = 0
    """Prompt tokens billed."""
    completion_tokens: int = 0
    """Completion tokens billed."""
    cost_usd: float | None = None
    """Dollars of the calls with a known price; None when no call had one."""
    unpriced_calls: int = 0
    """Calls whose model has no known price; when above 0, `cost_usd` is a lower bound."""
    latency_s: float = 0.0
    """Summed wall time of the calls."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


class UsageReport(BaseModel):
    """A snapshot of an LLMClient's usage."""

    total: UsageStats
    """Everything together."""
    by_model: dict[str, UsageStats]
    """Per model string."""
    by_role: dict[str, UsageStats]
    """Per role (``meta``, ``agent``, ``reflect``, ...)."""
    budget: Budget | None = None
    """The budget in force, if any."""


@dataclass
class Reservation:
    """The worst case a call in flight may still spend."""

    tokens: int
    cost_usd: float


class Ledger:
    """Thread-safe usage counters and budget reservations of one client."""

    def __init__(self, budget: Budget | None, *, enforce: bool = True) -> None:
        self.budget = budget
        # Off when something else (a cluster's shared budget) enforces `budget`: then only counts.
        self.enforce = enforce
        self._lock = threading.Lock()
        self._total = UsageStats()
        self._by_model: dict[str, UsageStats] = {}
        self._by_role: dict[str, UsageStats] = {}
        self._reserved_calls = 0
        self._reserved_tokens = 0
        self._reserved_cost = 0.0

    def reserve(self, *, tokens: int, cost_usd: float | None) -> Reservation:
        """Reserve a call's worst case, or raise BudgetExceeded if it could cross a limit."""
        cost = cost_usd or 0.0
        with self._lock:
            budget = self.budget if self.enforce else None
            if budget is not None:
                spent_cost = self._total.cost_usd or 0.0
                problem = None
                if budget.max_calls is not None and (
                    self._total.calls + self._reserved_calls + 1 > budget.max_calls
                ):
                    problem = f"the call limit of {budget.max_calls}"
                elif budget.max_tokens is not None and (
                    self._total.total_tokens + self._reserved_tokens + tokens > budget.max_tokens
                ):
                    problem = f"the token limit of {budget.max_tokens} (this call may use up to {tokens})"
                elif budget.max_cost_usd is not None and (
                    spent_cost + self._reserved_cost + cost > budget.max_cost_usd
                ):
                    problem = f"the cost limit of ${budget.max_cost_usd:g} (this call may cost ${cost:.6f})"
                if problem is not None:
                    spent = self._spent_locked()
                    raise BudgetExceeded(
                        f"budget: the next call could cross {problem}; spent so far: "
                        f"{spent['calls']} calls, {spent['tokens']} tokens, ${spent_cost:.6f}, "
                        f"{spent['in_flight']} calls in flight",
                        spent=spent,
                    )
            self._reserved_calls += 1
            self._reserved_tokens += tokens
            self._reserved_cost += cost
        return Reservation(tokens=tokens, cost_usd=cost)

    def settle(
        self,
        reservation: Reservation,
        *,
        model: str,
        role: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
        attempts: int,
        latency_s: float,
        failed: bool,
    ) -> None:
        """Release a reservation and count what the call really spent."""
        with self._lock:
            self._reserved_calls -= 1
            self._reserved_tokens -= reservation.tokens
            self._reserved_cost -= reservation.cost_usd
            if attempts == 0:  # nothing was sent (e.g. the local server did not start)
                return
            for stats in self._targets(model, role):
                stats.calls += 1
                stats.errors += int(failed)
                stats.retries += max(attempts - 1, 0)
                stats.prompt_tokens += prompt_tokens
                stats.completion_tokens += completion_tokens
                stats.latency_s += latency_s
                if cost_usd is None:  # (a failed call of a priced model comes as 0.0)
                    stats.unpriced_calls += 1
                else:
                    stats.cost_usd = (stats.cost_usd or 0.0) + cost_usd

    def record_hit(self, *, model: str, role: str, latency_s: float) -> None:
        """Count a cache hit (free)."""
        with self._lock:
            for stats in self._targets(model, role):
                stats.cache_hits += 1
                stats.latency_s += latency_s

    def report(self) -> UsageReport:
        """A deep copy of the counters."""
        with self._lock:
            return UsageReport(
                total=self._total.model_copy(),
                by_model={k: v.model_copy() for k, v in self._by_model.items()},
                by_role={k: v.model_copy() for k, v in self._by_role.items()},
                budget=self.budget,
            )

    def _targets(self, model: str, role: str) -> tuple[UsageStats, UsageStats, UsageStats]:
        return (
            self._total,
            self._by_model.setdefault(model, UsageStats()),
            self._by_role.setdefault(role, UsageStats()),
        )

    def _spent_locked(self) -> dict[str, float | int | None]:
        return {
            "cost_usd": self._total.cost_usd,
            "calls": self._total.calls,
            "tokens": self._total.total_tokens,
            "in_flight": self._reserved_calls,
        }
