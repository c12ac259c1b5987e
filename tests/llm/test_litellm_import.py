"""litellm is imported only where it is used, once, in the background.

Each check runs in a fresh interpreter: in the test process litellm is usually imported already.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from agentkit.llm import _catalog, _litellm


def _run(code: str, timeout_s: float = 120.0) -> dict[str, object]:
    """Run `code` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout_s
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_self_hosted_and_embedded_models_never_import_litellm() -> None:
    out = _run(
        """
        import asyncio, json, sys, types
        from agentkit.llm import Budget, LLMClient, ModelConfig, prepare_models, set_price
        from agentkit.testing import FakeOpenAIServer

        with FakeOpenAIServer() as server:
            # The embedded model's server is stood in for by the fake one.
            fake_local = types.ModuleType("agentkit.llm._local")
            fake_local.ensure_local_server = lambda: server.base_url
            sys.modules["agentkit.llm._local"] = fake_local
            hosted = ModelConfig(model="openai/Qwen/Qwen2.5-7B-Instruct", api_base=server.base_url)
            local = ModelConfig(model="local")
            prepare_models([hosted, local])
            set_price(hosted.model, 0.1, 0.2)  # so that a dollar budget can be enforced

            async def main():
                client = LLMClient(cache=False, budget=Budget(max_cost_usd=1.0))
                a = await client.complete([{"role": "user", "content": "hi"}], hosted)
                b = await client.complete_fields([{"role": "user", "content": "hi"}], local, ["answer"])
                await client.aclose()
                return a.cost_usd, b.completion.cost_usd

            costs = asyncio.run(main())
        print(json.dumps({"litellm": "litellm" in sys.modules, "costs": costs, "requests": len(server.requests)}))
        """
    )
    assert out["requests"] == 2
    assert out["litellm"] is False
    hosted_cost, local_cost = out["costs"]  # type: ignore[misc]
    assert hosted_cost > 0 and local_cost == 0.0


def test_background_import_is_joined_not_repeated() -> None:
    out = _run(
        """
        import asyncio, json, sys, threading
        from agentkit.llm import _litellm, prepare_models, resolve_model

        assert "litellm" not in sys.modules
        runs = []
        real = _litellm._import_and_configure

        def counted():
            runs.append(threading.current_thread().name)
            return real()

        _litellm._import_and_configure = counted
        prepare_models([resolve_model("anthropic/claude-haiku-4-5")])
        started_by_prepare = _litellm.imports_started
        prepare_models([resolve_model("openai/gpt-4o-mini")])
        _litellm.start_import()
        got = []
        threads = [threading.Thread(target=lambda: got.append(_litellm.get_litellm())) for _ in range(4)]
        for t in threads:
            t.start()

        async def main():
            # One waiter gives up: the import it waited for goes on for the others.
            quitter = asyncio.ensure_future(_litellm.ensure_litellm())
            await asyncio.sleep(0)
            quitter.cancel()
            return await asyncio.gather(*(_litellm.ensure_litellm() for _ in range(20)))

        modules = asyncio.run(main())
        for t in threads:
            t.join()
        print(json.dumps({
            "by_prepare": started_by_prepare,
            "started": _litellm.imports_started,
            "same": all(m is sys.modules["litellm"] for m in [*got, *modules]),
            "waiters": len(got) + len(modules),
            "runs": runs,
        }))
        """
    )
    assert out == {
        "by_prepare": 1,
        "started": 1,
        "same": True,
        "waiters": 24,
        "runs": ["agentkit-import-litellm"],  # one import, in the background thread
    }


def test_prepare_models_starts_only_the_https_client_for_self_hosted_models() -> None:
    out = _run(
        """
        import json, sys, threading
        from agentkit.llm import _litellm, prepare_models, resolve_model

        assert "aiohttp" not in sys.modules
        prepare_models([
            resolve_model("local"),
            resolve_model("openai/fake", api_base="http://127.0.0.1:9/v1"),
            None,
        ])
        plain = "aiohttp" in sys.modules or any(
            t.name == "agentkit-import-aiohttp" for t in threading.enumerate()
        )
        prepare_models([resolve_model("openai/fake", api_base="https://models.example/v1")])
        for thread in threading.enumerate():
            if thread.name == "agentkit-import-aiohttp":
                thread.join()
        print(json.dumps({
            "started": _litellm.imports_started,
            "litellm": "litellm" in sys.modules,
            "aiohttp": "aiohttp" in sys.modules,
            "aiohttp_for_plain_http": plain,
        }))
        """
    )
    assert out == {"started": 0, "litellm": False, "aiohttp": True, "aiohttp_for_plain_http": False}


@pytest.mark.parametrize(
    "name", ["fake", "smollm2", "Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-3.1-8B-Instruct", "my-model"]
)
def test_self_hosted_names_go_direct_without_litellm(name: str) -> None:
    assert not _litellm.needs_litellm(f"openai/{name}", "http://127.0.0.1:8000/v1")


@pytest.mark.parametrize("name", ["gpt-4o-mini", "o3-mini", "gpt-5-nano", "o1", "ft:gpt-4o-mini:org::abc"])
def test_names_litellm_knows_are_asked_of_litellm(name: str) -> None:
    assert _litellm.needs_litellm(f"openai/{name}", "http://127.0.0.1:8000/v1")
    assert _litellm.needs_litellm(f"openai/{name}", None)  # and a provider's own endpoint always


def _listed_price(litellm: Any, model: str) -> float:
    """litellm's own price per prompt token for `model` (0 when it has none)."""
    try:
        info = litellm.get_model_info(model)
    except Exception:
        return 0.0
    return float(info.get("input_cost_per_token") or 0.0)


def test_looking_names_up_in_the_maps_text_agrees_with_its_parsed_keys() -> None:
    listed = _catalog.listed_names()
    assert listed is not None
    keys = sorted(listed)[::7]
    others = [f"{k}-x" for k in keys[:200]] + [k.upper() for k in keys[:200]] + ["fake", "max_tokens"]
    for name in [*keys, *others]:
        assert _catalog._listed(name) == (name in listed), name


def test_a_name_litellm_is_not_asked_about_is_one_it_has_nothing_for() -> None:
    """Against litellm itself: for every OpenAI model in its price map and the last part of every
    other name in it (the names a self-hosted server is most likely to use), a name the catalog lets go
    direct is one litellm would neither price nor send differently."""
    listed = _catalog.listed_names()
    assert listed is not None and len(listed) > 1000
    litellm = _litellm.get_litellm()
    cost = litellm.model_cost
    names = {key for key in listed if key in cost and cost[key].get("litellm_provider") == "openai"}
    names |= {key.split("/")[-1] for key in sorted(listed)[::5]}
    names |= {"fake", "smollm2", "Qwen/Qwen2.5-7B-Instruct", "gpt-oss-20b", "llama-3.1-8b-instant"}
    unasked = sorted(n for n in names if not _catalog.litellm_knows(n))
    assert len(unasked) > 50  # the check below must cover something
    priced = [n for n in unasked if _listed_price(litellm, f"openai/{n}")]
    changed = [n for n in unasked if not _litellm._litellm_keeps_params(n)]
    assert priced == [] and changed == []
