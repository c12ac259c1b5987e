"""The data models of a task: its examples, how they are scored, and a summary for listings."""

from __future__ import annotations

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
    """Name of the scorer in `agentkit.tasks.SCORERS` that `score` applies."""
    split: str = "default"
    """Which split of the source was loaded (``"test"``, ``"train"``, ``"default"``)."""
    source: str = ""
    """Where the examples came from: a local file, a hub id, or ``"generated"``."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Options the task was loaded with (seed, difficulty, field names, ...), for reproducibility."""
    extra_answers: dict[str, list[str]] = Field(default_factory=dict)
    """Further answers accepted for a given target text, keyed by that target. Used for the three BBH
    rows whose targets are option texts rather than letters (the matching option letter is accepted too)."""

    def score(self, output: str | None, target: str) -> float:
        """Score a model output against a target with this task's scorer, from 0.0 (wrong) to 1.0
        (right); only the ``f1`` scorer gives values in between.

        The output also scores 1.0 when it matches one of `extra_answers[target]`.
        """
        from agentkit.tasks._scorers import get_scorer

        scorer = get_scorer(self.scorer_name)
        best = scorer(output, target)
        for alias in self.extra_answers.get(target, ()):
            if best >= 1.0:
                break
            best = max(best, scorer(output, alias))
        return best

    def score_example(self, output: str | None, example: Example) -> float:
        """Score an output for `example` (see `score`)."""
        return self.score(output, example.target)

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
