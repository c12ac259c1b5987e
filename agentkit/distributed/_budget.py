"""One budget for the whole cluster: a Ray actor holds the ledger every client reserves through.

Each LLM client of the run (the driver's and every evaluation actor's) reserves a call's worst case
here before sending it (`agentkit.llm.BudgetGate`), exactly as one client does with its own ledger, so
``--budget-calls/--budget-tokens/--budget-usd`` hold across machines as on one. Settlements are sent
without waiting (a cancelled call must still release its reservation); an actor serves its callers in
the order they submitted, so a client's settlement lands before its next reservation.

A reservation whose client died with its actor is charged as spent at its worst case
(`charge_owner`): the call may have reached the provider, and a budget must never undercount.
"""

from __future__ import annotations

import itertools
from typing import Any

from agentkit.errors import BudgetExceeded
from agentkit.llm import Budget, Ledger, Reservation, UsageReport


class BudgetLedger:
    """The cluster's budget (runs as a Ray actor, one call at a time)."""

    def __init__(self, budget: Budget | None) -> None:
        self._ledger = Ledger(budget)
        self._open: dict[int, tuple[str, Reservation]] = {}
        self._ids = itertools.count(1)

    def reserve(self, owner: str, tokens: int, cost_usd: float | None) -> tuple[int, None] | tuple[None, Any]:
        """A ticket for the reservation, or (None, (message, spent)) when the budget refuses it."""
        try:
            reservation = self._ledger.reserve(tokens=tokens, cost_usd=cost_usd)
        except BudgetExceeded as exc:
            return None, (str(exc), exc.spent)
        ticket = next(self._ids)
        self._open[ticket] = (owner, reservation)
        return ticket, None

    def settle(
        self,
        ticket: int,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
        attempts: int,
        failed: bool,
    ) -> None:
        """Release a reservation and count what its call spent."""
        entry = self._open.pop(ticket, None)
        if entry is None:  # already charged when its owner was lost
            return
        self._ledger.settle(
            entry[1],
            model="cluster",
            role="all",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost_usd,
            attempts=attempts,
            latency_s=0.0,
            failed=failed,
        )

    def charge_owner(self, owner: str) -> int:
        """Charge every open reservation of `owner` (a lost actor) at its worst case; how many."""
        tickets = [t for t, (who, _) in self._open.items() if who == owner]
        for ticket in tickets:
            _, reservation = self._open.pop(ticket)
            self._ledger.settle(
                reservation,
                model="cluster",
                role="all",
                prompt_tokens=reservation.tokens,
                completion_tokens=0,
                cost_usd=reservation.cost_usd,
                attempts=1,
                latency_s=0.0,
                failed=True,
            )
        return len(tickets)

    def report(self) -> UsageReport:
        """What the whole cluster spent (calls, tokens, dollars)."""
        return self._ledger.report()


class RayBudgetGate:
    """`agentkit.llm.BudgetGate` over the cluster's `BudgetLedger` actor, for one client (`owner`)."""

    def __init__(self, ledger: Any, owner: str) -> None:
        self._ledger = ledger
        self._owner = owner

    async def reserve(self, *, tokens: int, cost_usd: float | None) -> object:
        """Reserve at the cluster's ledger, or raise BudgetExceeded (nothing is sent then)."""
        ticket, refusal = await self._ledger.reserve.remote(self._owner, tokens, cost_usd)
        if ticket is None:
            message, spent = refusal
            raise BudgetExceeded(message, spent=spent)
        return ticket

    def settle(
        self,
        ticket: object,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float | None,
        attempts: int,
        failed: bool,
    ) -> None:
        """Send the settlement (not awaited: it must go out even while the call is being cancelled)."""
        self._ledger.settle.remote(ticket, prompt_tokens, completion_tokens, cost_usd, attempts, failed)
