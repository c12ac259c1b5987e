"""Scenario 10's other processes: the same questions through DSPy, inspect_ai, a plain in-process thread
loop, and agentkit's own API (for the time to its first result). Each runs in a process of its own, as a
user would run it, and prints one JSON line with what it measured inside; the scenario times the whole
process from start to exit.

Run as ``python -m benchmarks.perf._e2e_peers KIND SPEC_FILE`` with KIND one of ``dspy``, ``inspect``,
``loop`` or ``first``; the spec file holds ``base_url``, ``pairs`` ([question, answer] ...),
``concurrency`` and, for ``first``, ``data_dir``, ``limit`` and ``isolation``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _same_number(got: Any, want: str) -> bool:
    text = str(got).strip().rstrip(".").replace(",", "").replace("$", "")
    return text == want.strip()


def run_dspy(spec: dict[str, Any]) -> dict[str, Any]:
    """`dspy.Evaluate` of a `dspy.ChainOfThought` program, in threads, caches off."""
    began = time.perf_counter()
    import dspy

    imported = time.perf_counter() - began
    lm = dspy.LM(
        "openai/fake", api_base=spec["base_url"], api_key="x", cache=False, max_tokens=256, num_retries=0
    )
    dspy.configure(lm=lm)
    solver = dspy.ChainOfThought("question -> answer")
    devset = [dspy.Example(question=q, answer=a).with_inputs("question") for q, a in spec["pairs"]]

    def metric(example: Any, prediction: Any, trace: Any = None) -> float:
        return float(_same_number(prediction.answer, example.answer))

    evaluator = dspy.Evaluate(
        devset=devset,
        metric=metric,
        num_threads=spec["concurrency"],
        display_progress=False,
        display_table=False,
        max_errors=len(devset) + 1,
    )
    started = time.perf_counter()
    result = evaluator(solver)
    return {
        "version": dspy.__version__,
        "import_s": imported,
        "evaluate_s": time.perf_counter() - started,
        "accuracy": float(result.score) / 100.0,
    }


def run_inspect(spec: dict[str, Any]) -> dict[str, Any]:
    """inspect_ai's `eval` of a chain-of-thought solver with a numeric match scorer."""
    os.environ.setdefault("OPENAI_API_KEY", "x")
    began = time.perf_counter()
    import inspect_ai
    from inspect_ai import Task
    from inspect_ai import eval as inspect_eval
    from inspect_ai.dataset import MemoryDataset, Sample
    from inspect_ai.scorer import match
    from inspect_ai.solver import chain_of_thought, generate

    imported = time.perf_counter() - began
    dataset = MemoryDataset([Sample(input=q, target=a) for q, a in spec["pairs"]])
    task = Task(dataset=dataset, solver=[chain_of_thought(), generate()], scorer=match(numeric=True))
    conc = spec["concurrency"]
    with tempfile.TemporaryDirectory(prefix="agentkit-bench-inspect-") as logs:
        started = time.perf_counter()
        (log,) = inspect_eval(
            task,
            model="openai/fake",
            model_base_url=spec["base_url"],
            # Chat completions, as every OpenAI-compatible server speaks (not OpenAI's Responses API).
            model_args={"responses_api": False},
            max_connections=conc,
            max_samples=conc,
            max_retries=0,
            log_dir=logs,
            display="none",
            log_level="error",
        )
        evaluated = time.perf_counter() - started
    accuracy = None
    if log.results is not None and log.results.scores:
        metrics = log.results.scores[0].metrics
        accuracy = float(metrics["accuracy"].value) if "accuracy" in metrics else None
    return {
        "version": inspect_ai.__version__,
        "import_s": imported,
        "evaluate_s": evaluated,
        "accuracy": accuracy,
        "status": str(log.status),
        "error": str(log.error.message) if log.error is not None else None,
    }


def run_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """The plainest evaluation there is: one thread per question in flight, the agent's one call made
    in-process with the openai SDK, no isolation (what ADAS's own loop does)."""
    from concurrent.futures import ThreadPoolExecutor

    began = time.perf_counter()
    import openai

    imported = time.perf_counter() - began
    client = openai.OpenAI(base_url=spec["base_url"], api_key="x", max_retries=0)
    system = 'Think step by step, then reply with a JSON object with these keys: "thinking", "answer".'

    def solve(pair: list[str]) -> bool:
        question, want = pair
        reply = client.chat.completions.create(
            model="fake",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            response_format={"type": "json_object"},
            temperature=0.5,
        )
        try:
            answer = json.loads(reply.choices[0].message.content or "{}").get("answer", "")
        except ValueError:
            return False
        return _same_number(answer, want)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=spec["concurrency"]) as pool:
        right = list(pool.map(solve, spec["pairs"]))
    return {
        "version": openai.__version__,
        "import_s": imported,
        "evaluate_s": time.perf_counter() - started,
        "accuracy": sum(right) / max(1, len(right)),
    }


def run_first(spec: dict[str, Any]) -> dict[str, Any]:
    """agentkit's evaluation as ``agentkit eval`` runs it (a session, then `evaluate_agent`), timed from
    the task loaded to the first example's result."""
    import asyncio

    from agentkit.evaluate import Session, evaluate_agent, resolve_agent
    from agentkit.llm import inflight_limit, prepare_models, resolve_model
    from agentkit.tasks import load_task

    conc = int(spec["concurrency"])
    agent = resolve_agent("cot")
    model = resolve_model(
        "openai/fake", api_base=spec["base_url"], api_key="x", max_concurrency=inflight_limit(conc)
    )
    prepare_models([model])  # as `agentkit eval` does, before it loads the task
    task = load_task("mgsm", data_dir=spec["data_dir"])
    examples = task.examples[: int(spec["limit"])]
    marks: dict[str, float] = {}

    async def main() -> None:
        loaded = time.perf_counter()

        def seen(_result: Any) -> None:
            marks.setdefault("first", time.perf_counter() - loaded)

        isolation = spec.get("isolation", "auto")
        async with Session.open(model, isolation=isolation, workers=conc, cache=False) as session:
            marks["session"] = time.perf_counter() - loaded
            await evaluate_agent(
                agent.code,
                examples,
                task,
                client=session.client,
                model=session.model,
                runner=session.runner,
                agent_name=agent.name,
                split="eval",
                concurrency=conc,
                on_result=seen,
            )
            marks["all"] = time.perf_counter() - loaded
            level.append(session.isolation_level)

    level: list[str] = []
    asyncio.run(main())
    return {
        "first_result_s": marks["first"],
        "session_s": marks["session"],
        "all_s": marks["all"],
        "isolation": level[0],
    }


KINDS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "dspy": run_dspy,
    "inspect": run_inspect,
    "loop": run_loop,
    "first": run_first,
}


def main() -> None:
    """Child entry point."""
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    out = KINDS[kind](spec)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
