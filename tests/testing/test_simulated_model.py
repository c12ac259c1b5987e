"""SimulatedModel: prompt-dependent accuracy that is real, deterministic, and helped by voting."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from agentkit.testing import FakeOpenAIServer, SimulatedModel

FIELDS = 'Reply with a JSON object with exactly these keys: "thinking", "answer".'


def questions(n: int, seed: int = 0) -> list[tuple[str, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rng.randint(1, 999), rng.randint(1, 999)
        out.append((f"What is {a} + {b}?", a + b))
    return out


def ask(model: SimulatedModel, system: str, question: str, temperature: float = 0.8) -> str:
    request: dict[str, Any] = {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
        "temperature": temperature,
    }
    return model(request).content


def accuracy(model: SimulatedModel, system: str, qs: list[tuple[str, int]]) -> float:
    return sum(ask(model, system, q) == str(right) for q, right in qs) / len(qs)


def test_strategies_really_differ_over_200_questions() -> None:
    model = SimulatedModel({"step by step": 0.8, "quickly": 0.3}, base_accuracy=0.5)
    qs = questions(200)
    careful = accuracy(model, "Think step by step.", qs)
    hasty = accuracy(model, "Answer quickly.", qs)
    plain = accuracy(model, "You are helpful.", qs)
    assert 0.7 <= careful <= 0.9
    assert 0.2 <= hasty <= 0.4
    assert 0.4 <= plain <= 0.6


def test_first_matching_keyword_wins() -> None:
    model = SimulatedModel({"debate": 0.9, "step": 0.1})
    assert model.accuracy_for("Debate it, step by step") == 0.9
    assert model.accuracy_for("nothing") == model.base_accuracy


def test_same_seed_same_answers_and_repeated_samples_differ() -> None:
    qs = questions(50, seed=1)
    first = [ask(SimulatedModel(seed=7), "sys", q) for q, _ in qs]
    again = [ask(SimulatedModel(seed=7), "sys", q) for q, _ in qs]
    assert first == again
    model = SimulatedModel()
    samples = [ask(model, "sys", "What is 12 + 30?") for _ in range(20)]
    assert len(set(samples)) > 1


def test_temperature_zero_is_deterministic() -> None:
    model = SimulatedModel()
    assert len({ask(model, "sys", "What is 12 + 30?", temperature=0) for _ in range(10)}) == 1


def test_majority_vote_beats_a_single_sample() -> None:
    model = SimulatedModel(base_accuracy=0.6)
    qs = questions(200, seed=2)
    single = voted = 0
    for q, right in qs:
        answers = [ask(model, "sys", q) for _ in range(5)]
        single += answers[0] == str(right)
        voted += Counter(answers).most_common(1)[0][0] == str(right)
    assert voted > single + 20


def test_wrong_answers_are_near_misses_and_other_operators_work() -> None:
    model = SimulatedModel(base_accuracy=0.0)
    value = int(ask(model, "sys", "What is 6 * 7?"))
    assert value != 42 and 1 <= abs(value - 42) <= 10
    right = SimulatedModel(base_accuracy=1.0)
    assert ask(right, "sys", "What is 6 x 7?") == "42"
    assert ask(right, "sys", "What is 5 - 9?") == "-4"


def test_json_fields_fixed_tokens_and_over_http() -> None:
    model = SimulatedModel(base_accuracy=1.0, completion_tokens=33)
    with FakeOpenAIServer(model) as server:
        import urllib.request

        payload = {"model": "fake", "messages": [{"role": "user", "content": f"What is 2 + 3?\n{FIELDS}"}]}
        request = urllib.request.Request(
            server.base_url + "/chat/completions",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            data = json.loads(response.read())
    reply = json.loads(data["choices"][0]["message"]["content"])
    assert list(reply) == ["thinking", "answer"]
    assert reply["answer"] == "5"
    assert data["usage"]["completion_tokens"] == 33


def test_no_question_falls_back_to_the_default_reply() -> None:
    model = SimulatedModel(completion_tokens=9)
    reply = model({"messages": [{"role": "user", "content": "hello"}]})
    assert reply.content == "ok" and reply.completion_tokens == 9
