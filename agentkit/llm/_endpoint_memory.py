"""What this process has learned about model endpoints, kept per (model, api_base) for as long as it
runs: each endpoint's circuit breaker, its adaptive in-flight limit, and whether it refused JSON mode.

`forget_endpoints` clears it all. A long-running process never needs it; a test suite does, because a
fake server of one test may get the loopback port of an earlier one, and would otherwise inherit that
server's open breaker (a four-second pause) or lowered limit.
"""

from __future__ import annotations


def forget_endpoints() -> None:
    """Forget every endpoint's breaker, in-flight limit and JSON-mode refusal (new calls start afresh;
    calls already holding a limiter keep it until they finish)."""
    from agentkit.llm import _breaker, _client, _limiter

    with _breaker._registry_lock:
        _breaker._registry.clear()
    with _limiter._registry_lock:
        _limiter._registry.clear()
    with _client._no_json_mode_lock:
        _client._no_json_mode.clear()
