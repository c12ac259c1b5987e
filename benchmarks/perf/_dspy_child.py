"""Scenario 2's DSPy side, in its own process: `dspy.Evaluate` of a `dspy.ChainOfThought` program.

DSPy runs in-process threads, as its users run it; it gets a process of its own so that neither
framework's imports or global settings touch the other's. Prints one JSON line with the timing.

Run as ``python -m benchmarks.perf._dspy_child '<json spec>'``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


def _number(text: Any) -> str:
    return str(text).strip().rstrip(".").replace(",", "")


def main() -> None:
    """Child entry point: spec has base_url, examples [[question, target]...], threads, rounds."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    spec = json.loads(sys.argv[1])
    started = time.perf_counter()
    import dspy

    import_s = time.perf_counter() - started
    lm = dspy.LM(
        "openai/fake",
        api_base=spec["base_url"],
        api_key="x",
        cache=False,
        temperature=0.8,
        max_tokens=256,
        num_retries=1,
    )
    dspy.configure(lm=lm)
    program = dspy.ChainOfThought("question -> answer")
    devset = [dspy.Example(question=q, answer=a).with_inputs("question") for q, a in spec["examples"]]

    def metric(example: Any, prediction: Any, trace: Any = None) -> float:
        return float(_number(prediction.answer) == _number(example.answer))

    evaluate = dspy.Evaluate(
        devset=devset,
        metric=metric,
        num_threads=spec["threads"],
        display_progress=False,
        display_table=False,
        max_errors=len(devset) + 1,
    )
    # One untimed pass over a few examples: imports and connections, like agentkit's warm-up.
    evaluate(program, devset=devset[: spec["threads"]])
    rounds = []
    for _ in range(spec["rounds"]):
        began = time.perf_counter()
        result = evaluate(program)
        rounds.append({"seconds": time.perf_counter() - began, "score": float(result.score)})
    print(json.dumps({"rounds": rounds, "import_s": import_s, "version": dspy.__version__}), flush=True)


if __name__ == "__main__":
    main()
