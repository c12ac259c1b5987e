"""The SQLite reply cache: hits, misses, samples, disabling, and several processes at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from agentkit.llm import LLMClient, ModelConfig
from agentkit.llm._cache import CACHE_FILE, ReplyCache, cache_key
from agentkit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "What is 2 + 2?"}]
ConfigFactory = Callable[..., ModelConfig]


async def test_miss_then_hit(server: FakeOpenAIServer, client: LLMClient, fast_config: ConfigFactory) -> None:
    model = fast_config(server)
    first = await client.complete(USER, model)
    second = await client.complete(USER, model)
    assert not first.cached and second.cached
    assert second.text == first.text
    assert (second.cost_usd, second.prompt_tokens, second.completion_tokens) == (0.0, 0, 0)
    assert len(server.requests) == 1
    usage = client.usage()
    assert (usage.total.calls, usage.total.cache_hits) == (1, 1)
    assert usage.by_role["agent"].cache_hits == 1


async def test_request_changes_are_misses(
    server: FakeOpenAIServer, client: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server)
    await client.complete(USER, model)
    await client.complete(USER, model, temperature=0.9)
    await client.complete(USER, model, max_tokens=7)
    await client.complete(USER, model, json_mode=True)
    await client.complete([{"role": "user", "content": "other"}], model)
    assert len(server.requests) == 5


async def test_samples_stay_distinct(
    server: FakeOpenAIServer, client: LLMClient, fast_config: ConfigFactory
) -> None:
    model = fast_config(server)
    replies = [await client.complete(USER, model, sample_index=i) for i in range(3)]
    assert not any(r.cached for r in replies)
    assert [r.sample_index for r in replies] == [0, 1, 2]
    again = await client.complete(USER, model, sample_index=1)
    assert again.cached and again.sample_index == 1
    assert len(server.requests) == 3


async def test_disabled(server: FakeOpenAIServer, tmp_path: Path, fast_config: ConfigFactory) -> None:
    client = LLMClient(cache_dir=tmp_path, cache=False)
    model = fast_config(server)
    await client.complete(USER, model)
    second = await client.complete(USER, model)
    assert not second.cached
    assert len(server.requests) == 2
    assert client.cache_path is None
    assert not (tmp_path / CACHE_FILE).exists()


async def test_persists_across_clients_and_ignores_the_key(
    server: FakeOpenAIServer, tmp_path: Path, fast_config: ConfigFactory
) -> None:
    await LLMClient(cache_dir=tmp_path).complete(USER, fast_config(server, api_key="a"))
    reply = await LLMClient(cache_dir=tmp_path).complete(USER, fast_config(server, api_key="b"))
    assert reply.cached
    assert len(server.requests) == 1


async def test_each_server_gets_its_own_answer(tmp_path: Path, fast_config: ConfigFactory) -> None:
    # The same model name behind two endpoints (two deployments, a test server on another port) are
    # two models: the cache must not answer one from the other.
    with (
        FakeOpenAIServer(lambda body: "from the first") as first_server,
        FakeOpenAIServer(lambda body: "from the second") as second_server,
    ):
        client = LLMClient(cache_dir=tmp_path)
        first = await client.complete(USER, fast_config(first_server))
        second = await client.complete(USER, fast_config(second_server))
        assert (first.text, second.text) == ("from the first", "from the second")
        assert not second.cached and len(second_server.requests) == 1
        again = await LLMClient(cache_dir=tmp_path).complete(USER, fast_config(second_server))
        assert again.cached and again.text == "from the second"
        trailing = fast_config(first_server, api_base=first_server.base_url + "/")
        assert (await client.complete(USER, trailing)).text == "from the first"
        assert len(first_server.requests) == 1  # a trailing slash is the same endpoint


def test_key_of_the_local_model_follows_its_file(tmp_path: Path, monkeypatch) -> None:
    from agentkit.llm import _local_install
    from agentkit.llm._endpoints import cache_endpoint

    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF v1")
    monkeypatch.setattr(_local_install, "_found", None)
    monkeypatch.setattr(_local_install, "find_model_file", lambda: weights)
    local = ModelConfig(model="local")
    before = cache_endpoint(local)
    assert before == cache_endpoint(local) and str(weights) in (before or "")
    weights.write_bytes(b"GGUF v2, another model")
    assert cache_endpoint(local) != before
    assert cache_endpoint(ModelConfig(model="openai/gpt-4o-mini")) is None


async def test_default_dir_from_environment(
    server: FakeOpenAIServer, tmp_path: Path, monkeypatch, fast_config: ConfigFactory
) -> None:
    monkeypatch.setenv("AGENTKIT_CACHE_DIR", str(tmp_path / "env"))
    client = LLMClient()
    await client.complete(USER, fast_config(server))
    await client.aclose()
    assert client.cache_path == tmp_path / "env" / CACHE_FILE
    assert client.cache_path.exists()


def test_key_is_canonical() -> None:
    def key(messages: list[dict[str, str]], sample_index: int = 0, endpoint: str | None = None) -> str:
        return cache_key(
            endpoint=endpoint,
            model="m",
            messages=messages,
            temperature=0.5,
            max_tokens=10,
            json_mode=False,
            sample_index=sample_index,
        )

    first = key([{"role": "user", "content": "x"}])
    assert first == key([{"content": "x", "role": "user"}])  # dict order does not matter
    # A provider's default endpoint adds nothing to the key (those entries keep matching); any other does.
    assert first == key([{"role": "user", "content": "x"}], endpoint=None)
    assert first != key([{"role": "user", "content": "x"}], endpoint="http://127.0.0.1:8000/v1")
    assert first != key([{"role": "user", "content": "x"}], sample_index=1)
    assert len(first) == 64


_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agentkit.llm._cache import ReplyCache
    cache = ReplyCache(Path(sys.argv[1]))
    name, start = sys.argv[2], float(sys.argv[3])
    while time.time() < start:
        time.sleep(0.001)
    for i in range(300):
        key = f"{name}-{i}" if i % 3 else f"shared-{i}"
        cache.put(key, model="m", text=f"{name} {i}", prompt_tokens=i, completion_tokens=1)
        assert cache.get(key) is not None, key
    cache.close()
    """
)


def test_two_processes_writing_at_once(tmp_path: Path) -> None:
    import time

    start = time.time() + 1.0  # both begin writing at the same moment
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), name, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "not writable" not in err and "not readable" not in err, err
    cache = ReplyCache(tmp_path)
    for name in ("a", "b"):
        for i in range(300):
            key = f"{name}-{i}" if i % 3 else f"shared-{i}"
            hit = cache.get(key)
            assert hit is not None, key
            assert hit.prompt_tokens == i
    cache.close()
