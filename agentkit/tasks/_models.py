"""The data models of a task: its examples, how they are scored, and a summary for listings."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field


class Example(BaseModel):
    """One question with its gold answer."""

    id: str
    """Stable id, unique within its task, e.g. ``"gsm8k/test/17"`` or ``"bbh/navigate/3"``."""
    input: str
    """The question exactly as an agent receives it."""
    target: str
    """The gold answer as text (numbers too), in the task's canonical form."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else known about the example (the worked solution, generator parameters, ...)."""


class Task(BaseModel):
    """A benchmark: examples plus the rule that checks an answer."""

    name: str
    """Registry name, e.g. ``"gsm8k"``, ``"bbh/navigate"``, ``"gen/arithmetic"`` or ``"jsonl:/path/f.jsonl"``."""
    description: str
    """What the task is about, written for the meta agent that designs agents for it."""
    answer_format: str
    """How an agent must state its final answer; given to agents in their answer field's instruction."""
    examples: list[Example]
    """The examples of the loaded split, in a stable order."""
    scorer_name: str
    """Name of the scorer in `agentkit.tasks.SCORERS` that `score` applies (for a task with a Python
    scorer, ``python:<function name>``, a label only)."""
    split: str = "default"
    """Which split of the source was loaded (``"test"``, ``"train"``, ``"default"``)."""
    source: str = ""
    """Where the examples came from: a local file, a hub id, or ``"generated"``."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Options the task was loaded with (seed, difficulty, field names, ...), for reproducibility."""
    extra_answers: dict[str, list[str]] = Field(default_factory=dict)
    """Further answers accepted for a given target text, keyed by that target. Used for the three BBH
    rows whose targets are option texts rather than letters (the matching option letter is accepted too)."""
    scorer_fn: Callable[[str, Example], float] | None = Field(default=None, exclude=True, repr=False)
    """A Python scorer ``(answer, example) -> float`` in [0, 1] that takes the place of the named one
    (tasks from `from_records`); not serialised: such a task is used in the process that defined it."""
    rubric: str | None = None
    """For tasks scored by an LLM judge (scorer ``judge``): what a good answer does, unless an example
    has its own ``rubric`` in its metadata."""
    judge: Any = Field(default=None, exclude=True, repr=False)
    """The `agentkit.evaluate.Judge` (judge model, samples) that evaluations of a ``judge`` task use;
    attached with `agentkit.evaluate.with_judge`, not serialised."""

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any] | Example],
        *,
        scorer: str | Callable[[str, Example], float] = "exact",
        name: str = "custom",
        description: str | None = None,
        answer_format: str | None = None,
        input_field: str = "input",
        target_field: str = "target",
        id_field: str | None = None,
        rubric: str | None = None,
    ) -> Task:
        """A task from Python records with a scorer by name or any callable ``(answer, example) ->
        float`` in [0, 1]; see `agentkit.tasks._custom.task_from_records` for the exact contract."""
        from agentkit.tasks._custom import task_from_records

        return task_from_records(
            records,
            scorer=scorer,
            name=name,
            description=description,
            answer_format=answer_format,
            input_field=input_field,
            target_field=target_field,
            id_field=id_field,
            rubric=rubric,
        )

    def score(self, output: str | None, target: str) -> float:
        """Score a model output against a target with this task's scorer, from 0.0 (wrong) to 1.0
        (right); only the ``f1`` scorer and Python scorers give values in between.

        The output also scores 1.0 when it matches one of `extra_answers[target]`. A Python scorer gets
        an `Example` with just this target; prefer `score_example`, which passes the real one.
        """
        if self.scorer_fn is not None:
            return self.score_example(output, Example(id="", input="", target=target))
        if self.scorer_name == "judge":
            from agentkit.errors import TaskError

            raise TaskError(
                f"task {self.name!r} is scored by an LLM judge, which needs a model call: evaluate it with "
                "agentkit.evaluate (evaluate_agent, bench) and a judge model (--judge-model, with_judge)"
            )
        from agentkit.tasks._scorers import get_scorer

        scorer = get_scorer(self.scorer_name)
        best = scorer(output, target)
        for alias in self.extra_answers.get(target, ()):
            if best >= 1.0:
                break
            best = max(best, scorer(output, alias))
        return best

    def score_example(self, output: str | None, example: Example) -> float:
        """Score an output for `example`: the Python scorer with the example itself, else `score` against
        `example.target`. No output (a failed agent) scores 0.0 without calling a Python scorer."""
        if self.scorer_fn is None:
            return self.score(output, example.target)
        if output is None:
            return 0.0
        from agentkit.errors import TaskError
        from agentkit.tasks._custom import check_score

        try:
            value = self.scorer_fn(output, example)
        except Exception as exc:
            raise TaskError(
                f"scorer {self.scorer_name} failed on example {example.id!r}: {type(exc).__name__}: {exc}"
            ) from exc
        return check_score(value, example, self.scorer_name)

    def get(self, example_id: str) -> Example:
        """The example with id `example_id`; KeyError when the task has none."""
        for example in self.examples:
            if example.id == example_id:
                return example
        raise KeyError(example_id)


class TaskInfo(BaseModel):
    """One line of the task listing: what a name refers to, without loading the examples."""

    name: str
    """Registry name (for generated tasks the name without options)."""
    description: str
    """One-sentence summary."""
    source: str
    """Where the data would come from now: a local path, ``hub:<id>``, ``generated``, or ``missing``."""
    sizes: dict[str, int] = Field(default_factory=dict)
    """Examples per split where known without downloading (empty for generated tasks and hub sources)."""
    scorer_name: str
    """The scorer used to check answers."""
    available: bool = True
    """False when neither local files nor the hub can provide the data right now."""
