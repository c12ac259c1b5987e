"""The simulated world every scenario runs in: arithmetic questions, a simulated model behind the fake
OpenAI server, and agents whose prompts carry strategy keywords (so they really score differently).

The model is `agentkit.testing.SimulatedModel`: it answers "What is A + B?" right with a probability set
by keywords in the prompt, and independently per sample, so voting really helps.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentkit.tasks import Example, Task
from agentkit.testing import FakeReply, SimulatedModel

# Keywords an agent's instruction may contain, and the accuracy they give. The runtime's own prompt
# text contains none of them (it says "step by step", which is therefore not used as a keyword).
STRATEGIES: dict[str, float] = {
    "verify every digit": 0.9,
    "reason in small steps": 0.7,
    "answer at a glance": 0.3,
}
BASE_ACCURACY = 0.5
COMPLETION_TOKENS = 60
ANSWER_FORMAT = "Give only the final integer, with no words or units."


def simulated_model(seed: int = 0) -> SimulatedModel:
    """The simulated model of the benchmarks (fixed token count per reply)."""
    return SimulatedModel(
        STRATEGIES, base_accuracy=BASE_ACCURACY, completion_tokens=COMPLETION_TOKENS, seed=seed
    )


def question(rng: random.Random) -> tuple[str, str]:
    """One "What is A op B?" question and its answer."""
    a, b = rng.randint(10, 999), rng.randint(10, 999)
    op = rng.choice("+-*")
    value = a + b if op == "+" else a - b if op == "-" else a * b
    return f"What is {a} {op} {b}?", str(value)


def examples(n: int, *, seed: int = 0, prefix: str = "arith") -> list[Example]:
    """`n` arithmetic examples, the same for the same seed."""
    rng = random.Random(f"agentkit-bench/{seed}")
    out = []
    for i in range(n):
        text, target = question(rng)
        out.append(Example(id=f"{prefix}/{i}", input=text, target=target))
    return out


def task(n: int, *, seed: int = 0) -> Task:
    """A task of `n` arithmetic examples scored numerically."""
    return Task(
        name="bench/arithmetic",
        description="Integer arithmetic questions of the form 'What is A + B?' (also - and *).",
        answer_format=ANSWER_FORMAT,
        examples=examples(n, seed=seed),
        scorer_name="numeric",
        source="generated",
    )


def write_jsonl_task(path: Path, n: int, *, seed: int = 0) -> str:
    """Write `n` examples as a JSONL task file; returns the task name for `load_task` / SearchConfig."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for e in examples(n, seed=seed, prefix="q"):
            f.write(json.dumps({"input": e.input, "target": e.target}) + "\n")
    return f"jsonl:{path}"


# --- agents ---------------------------------------------------------------------------------------------


def one_call_agent(instruction: str = "Work it out, then answer.", *, variant: int = 0) -> str:
    """An ADAS-style agent that makes one model call."""
    return (
        "def forward(self, taskInfo):\n"
        f"    variant = {variant}\n"
        "    agent = LLMAgentBase(['thinking', 'answer'], 'Direct Agent', temperature=0.8)\n"
        f"    thinking, answer = agent([taskInfo], {instruction!r})\n"
        "    return answer\n"
    )


def sequential_agent(
    calls: int = 5, instruction: str = "Work it out, then answer.", *, variant: int = 0
) -> str:
    """An ADAS-style agent making `calls` model calls one after the other (answer, then refinements)."""
    return (
        "def forward(self, taskInfo):\n"
        f"    variant = {variant}\n"
        "    solver = LLMAgentBase(['thinking', 'answer'], 'Solver', temperature=0.8)\n"
        "    critic = LLMAgentBase(['feedback', 'answer'], 'Refiner', temperature=0.8)\n"
        f"    thinking, answer = solver([taskInfo], {instruction!r})\n"
        f"    for i in range({calls - 1}):\n"
        "        feedback, answer = critic([taskInfo, thinking, answer],\n"
        f"                                  {instruction + ' Check the last answer and correct it.'!r}, i)\n"
        "    return answer\n"
    )


def voting_agent(samples: int, instruction: str, *, variant: int = 0) -> str:
    """Self-consistency: `samples` independent answers and a majority vote."""
    return (
        "def forward(self, taskInfo):\n"
        f"    variant = {variant}\n"
        "    agent = LLMAgentBase(['thinking', 'answer'], 'Voter', temperature=0.8)\n"
        "    answers = []\n"
        f"    for i in range({samples}):\n"
        f"        thinking, answer = agent([taskInfo], {instruction!r})\n"
        "        answers.append(answer.content)\n"
        "    return majority_vote(answers)\n"
    )


@dataclass(frozen=True)
class Design:
    """One candidate the scripted meta agent proposes."""

    name: str
    kind: str
    """"single", "vote" or "refine"."""
    instruction: str
    size: int = 1
    """Samples of a vote, calls of a refine chain."""

    def code(self, variant: int) -> str:
        """The agent's source; `variant` only changes an unused constant (not a duplicate, same calls)."""
        if self.kind == "vote":
            return voting_agent(self.size, self.instruction, variant=variant)
        if self.kind == "refine":
            return sequential_agent(self.size, self.instruction, variant=variant)
        return one_call_agent(self.instruction, variant=variant)


GLANCE = "Answer at a glance."
SMALL = "Reason in small steps, then answer."
VERIFY = "Verify every digit before you answer."
PLAIN = "Work it out, then answer."

# Twenty designs in the order a scripted meta agent proposes them: weak and strong ideas, and (as real
# meta agents do) re-proposals of earlier ideas that make exactly the same model calls.
SCRIPT: tuple[Design, ...] = (
    Design("Glance", "single", GLANCE),
    Design("Small steps", "single", SMALL),
    Design("Small-step vote", "vote", SMALL, 5),
    Design("Verifier", "single", VERIFY),
    Design("Verified vote", "vote", VERIFY, 5),
    Design("Small-step refiner", "refine", SMALL, 3),
    Design("Small steps again", "single", SMALL),
    Design("Glance vote", "vote", GLANCE, 3),
    Design("Plain", "single", PLAIN),
    Design("Plain vote", "vote", PLAIN, 3),
    Design("Verifier again", "single", VERIFY),
    Design("Glance refiner", "refine", GLANCE, 3),
    Design("Plain refiner", "refine", PLAIN, 3),
    Design("Small-step vote again", "vote", SMALL, 5),
    Design("Glance again", "single", GLANCE),
    Design("Plain again", "single", PLAIN),
    Design("Verify refiner", "refine", VERIFY, 2),
    Design("Glance vote again", "vote", GLANCE, 3),
    Design("Small-step trio", "vote", SMALL, 3),
    Design("Plain trio", "vote", PLAIN, 3),
)


class ScriptedMeta:
    """The meta model: the n-th proposal request gets `SCRIPT[n % 20]` (with variant n); review and fix
    requests (more than two messages) get the proposal under review back unchanged."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self.proposals = 0

    def __call__(self, body: dict[str, Any]) -> FakeReply:
        messages = body.get("messages") or []
        if len(messages) > 2:
            for message in reversed(messages):
                if message.get("role") == "assistant":
                    return FakeReply(content=str(message.get("content", "")), completion_tokens=400)
        with self._lock:
            n = self.proposals
            self.proposals += 1
        design = SCRIPT[n % len(SCRIPT)]
        reply = {
            "thought": f"Idea {n}: {design.name}.",
            "name": f"{design.name} #{n}",
            "code": design.code(n),
        }
        return FakeReply(content=json.dumps(reply), completion_tokens=400)


def search_responder(
    agent_model: SimulatedModel, meta: ScriptedMeta, meta_name: str = "fake-meta"
) -> Callable[[dict[str, Any]], FakeReply]:
    """Route requests to the meta script or the simulated agent model by the model named in the body."""

    def respond(body: dict[str, Any]) -> FakeReply:
        if str(body.get("model", "")).endswith(meta_name):
            return meta(body)
        return agent_model(body)

    return respond


def dspy_aware(model: SimulatedModel) -> Callable[[dict[str, Any]], FakeReply]:
    """The simulated model, answering DSPy's ChatAdapter prompts in the ``[[ ## field ## ]]`` format
    (other prompts as usual), so DSPy parses the reply on its first try."""

    def respond(body: dict[str, Any]) -> FakeReply:
        reply = model(body)
        text = "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
        if "[[ ## answer ## ]]" not in text:
            return reply
        value = reply.content
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            value = next((str(v) for k, v in parsed.items() if "answer" in k.lower()), value)
        content = (
            "[[ ## reasoning ## ]]\nI thought about it step by step.\n\n"
            f"[[ ## answer ## ]]\n{value}\n\n[[ ## completed ## ]]"
        )
        return FakeReply(content=content, completion_tokens=reply.completion_tokens)

    return respond
