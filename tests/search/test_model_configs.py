"""The models of a search: agent calls give up on a model that stays down (their examples run again
later, unscored meanwhile); the meta agent's calls wait for it, so an outage costs no proposals."""

from __future__ import annotations

from agentkit.search import SearchConfig, model_configs


def test_meta_calls_wait_out_an_outage_and_agent_calls_give_up() -> None:
    agent, meta = model_configs(SearchConfig(task="gen/arithmetic", model="openai/a", meta_model="openai/b"))
    assert agent.breaker_give_up_s == 60.0
    assert meta.breaker_give_up_s is None
