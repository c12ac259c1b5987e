"""What `show`, `report` and `export` read from a run: plain views built through the archive's public API.

Selection is always by the *search* split: the agent with the highest lower bound of its search-split
interval (ties by mean, older first) is "the selected agent". Test scores are shown beside it, never used
to choose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from agentkit.records import failed_every_example as every_example_failed
from agentkit.report._adas_import import AdasReported, adas_reported

if TYPE_CHECKING:
    from agentkit.archive import AgentRecord, Archive
    from agentkit.evaluate import EvalSummary

SortKey = Literal["score", "generation"]

EVAL_SPLIT = "eval"
"""The split `agentkit eval --run` stores its scores under (kept apart from a search's splits)."""

# Splits whose results may explain a failure; a failed agent often has results but no summary.
_FAILURE_SPLITS = ("screen", "search")
# Agent meta keys the search may use to say why a candidate failed (checked in this order).
_FAILURE_META_KEYS = ("error", "failure", "error_message", "reason")
# Agent meta keys naming the kind of failure (the search writes failure_kind: "no code", "static check",
# "duplicate of a0006").
_FAILURE_KIND_KEYS = ("error_kind", "failure_kind")


class ScoreView(BaseModel):
    """A score on one split with its interval."""

    mean: float
    """Mean score."""
    low: float
    """Lower bound of the interval."""
    high: float
    """Upper bound of the interval."""
    n: int
    """Examples it was measured on."""
    confidence: float = 0.95
    """Confidence level of the interval."""
    error_rate: float = 0.0
    """Share of examples on which the agent failed."""


class AgentRow(BaseModel):
    """One line of the agents table (`agentkit show RUN_DIR`, `--json`)."""

    id: str
    """Agent id in the archive."""
    name: str
    """Agent name."""
    generation: int
    """Generation that produced it (seeds: 0)."""
    origin: str
    """seed, meta or import."""
    status: str
    """proposed, failed, screened or evaluated."""
    parents: list[str] = Field(default_factory=list)
    """Parent ids."""
    search: ScoreView | None = None
    """Score on the search split (the one selection uses)."""
    screen: ScoreView | None = None
    """Score on the screening subset, where measured."""
    test: ScoreView | None = None
    """Score on the sealed test split, where measured (never used for selection)."""
    eval: ScoreView | None = None
    """Score from `agentkit eval --run` (the task's first examples outside the run's search and test
    splits; how imported agents are scored)."""
    adas: AdasReported | None = None
    """The scores ADAS reported for an imported agent (measured by ADAS, not here; never used to select)."""
    cost_usd: float | None = None
    """Evaluation cost over every split measured; None when no price is known."""
    selected: bool = False
    """True for the agent chosen by the search-split lower bound."""
    unscored: int = 0
    """Examples stored unscored over every split: the provider failed them (not the agent), so no score
    counts them; they run again when the evaluation is resumed or repeated."""
    waiting: bool = False
    """Still waiting for unscored examples: a split has some and no score yet (the search stores an
    agent's score only once every example has one), so the agent is not compared or selected until
    ``agentkit search --resume`` scores them."""


class FailureView(BaseModel):
    """A candidate that failed (or failed every example it ran on), with what is known about why."""

    id: str
    """Agent id."""
    name: str
    """Agent name."""
    generation: int
    """Generation."""
    error_kinds: dict[str, int] = Field(default_factory=dict)
    """Per-example failure kinds (syntax, exception, timeout, ...) and how often each occurred."""
    message: str = ""
    """The first error message found (agent meta, a failed example, or the last debug round)."""
    debug_rounds: int = 0
    """Fixes the meta agent was asked for with this agent's error (each fix is an agent of its own)."""


def run_settings(config: dict[str, Any]) -> dict[str, Any]:
    """A run's settings as one flat dict (``task``, ``model``, ``meta_model``, sizes, ...).

    A search run stores them nested under ``"search"`` beside ``kind``, ``versions`` and
    ``git_revision``; an ADAS import stores them flat. Both read the same way through this. The
    sections of a search's settings come by dotted key (``budget.max_cost_usd``, ``sandbox.workers``),
    the key a ``--config`` file uses."""
    nested = config.get("search")
    if isinstance(nested, dict):
        return {**{k: v for k, v in config.items() if k != "search"}, **_dotted(nested)}
    return dict(config)


def _dotted(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def score_view(summary: EvalSummary | None) -> ScoreView | None:
    """The interval view of an evaluation summary (None stays None)."""
    if summary is None:
        return None
    acc = summary.accuracy
    return ScoreView(
        mean=acc.mean,
        low=acc.low,
        high=acc.high,
        n=summary.n,
        confidence=acc.confidence,
        error_rate=summary.error_rate,
    )


def selected_agent(archive: Archive) -> AgentRecord | None:
    """The agent a user should ship: the highest search-split lower bound (None before any evaluation)."""
    best = archive.best_agents(1, "search", by="lower_bound")
    return best[0] if best else None


def agent_cost(agent: AgentRecord) -> float | None:
    """Evaluation cost of an agent over every split measured; None when no split had a known price."""
    costs = [s.cost_usd for s in agent.summaries.values() if s.cost_usd is not None]
    return sum(costs) if costs else None


def agent_row(
    agent: AgentRecord, *, selected_id: str | None, unscored: Mapping[str, int] | None = None
) -> AgentRow:
    """The table row of one agent; `unscored` holds its unscored results per split
    (`Archive.unscored_counts`)."""
    unscored = unscored or {}
    return AgentRow(
        id=agent.id,
        name=agent.name,
        generation=agent.generation,
        origin=agent.origin,
        status=agent.status,
        parents=list(agent.parents),
        search=score_view(agent.summaries.get("search")),
        screen=score_view(agent.summaries.get("screen")),
        test=score_view(agent.summaries.get("test")),
        eval=score_view(agent.summaries.get(EVAL_SPLIT)),
        adas=adas_reported(agent.meta) if agent.origin == "import" else None,
        cost_usd=agent_cost(agent),
        selected=agent.id == selected_id,
        unscored=sum(unscored.values()),
        waiting=any(n and split not in agent.summaries for split, n in unscored.items()),
    )


def sort_rows(rows: list[AgentRow], by: SortKey = "score") -> list[AgentRow]:
    """Rows by search-split lower bound (best first; then screened, then scored by `eval --run` only;
    unmeasured last, by generation), or by generation."""
    order = {row.id: i for i, row in enumerate(rows)}  # creation order, the archive's natural order
    if by == "generation":
        return sorted(rows, key=lambda r: (r.generation, order[r.id]))

    def key(r: AgentRow) -> tuple[int, float, float, int, int]:
        if r.search is not None:
            return (0, -r.search.low, -r.search.mean, r.generation, order[r.id])
        if r.screen is not None:
            return (1, -r.screen.low, -r.screen.mean, r.generation, order[r.id])
        if r.eval is not None:
            return (2, -r.eval.low, -r.eval.mean, r.generation, order[r.id])
        return (3, 0.0, 0.0, r.generation, order[r.id])

    return sorted(rows, key=key)


def agent_rows(archive: Archive, *, sort: SortKey = "score") -> list[AgentRow]:
    """Every agent of the run as a table row, sorted (see `sort_rows`)."""
    best = selected_agent(archive)
    unscored = archive.unscored_counts()
    rows = [
        agent_row(a, selected_id=best.id if best else None, unscored=unscored.get(a.id))
        for a in archive.agents()
    ]
    return sort_rows(rows, sort)


def failure_view(archive: Archive, agent: AgentRecord) -> FailureView:
    """Why an agent failed, from its meta, its per-example results and its debug rounds."""
    kinds: Counter[str] = Counter()
    message = ""
    for key in _FAILURE_META_KEYS:
        value = agent.meta.get(key)
        if isinstance(value, str) and value.strip():
            message = value.strip()
            break
        if isinstance(value, dict) and value.get("message"):
            message = str(value["message"]).strip()
            if value.get("kind"):
                kinds[str(value["kind"])] += 0  # known kind, even with no example behind it
            break
    for kind_key in _FAILURE_KIND_KEYS:
        meta_kind = agent.meta.get(kind_key)
        if isinstance(meta_kind, str) and meta_kind.strip():
            kinds[meta_kind.strip()] += 0
    splits = list(dict.fromkeys([*_FAILURE_SPLITS, *agent.summaries]))
    for split in splits:
        for result in archive.results(agent.id, split):
            if result.error is not None:
                kinds[result.error.kind] += 1
                if not message:
                    message = result.error.message
    debug = [r for r in archive.reviews(agent.id) if r.kind == "debug"]
    if not message:
        for review in reversed(debug):
            if review.error_shown:
                message = review.error_shown.strip()
                break
    return FailureView(
        id=agent.id,
        name=agent.name,
        generation=agent.generation,
        error_kinds=dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        message=first_line(message),
        debug_rounds=len(debug),
    )


def failed_every_example(archive: Archive, agent: AgentRecord) -> bool:
    """An agent that ran (it is not "failed") but failed every example it was scored on in the search
    split: a hang, a crash or an output limit each time, which its score of 0 alone does not tell."""
    if agent.status == "failed":
        return False
    return every_example_failed(archive.results(agent.id, "search")) is not None


def first_line(text: str, *, limit: int = 300) -> str:
    """The last non-empty line of a traceback-like text, or the first line of anything else, clipped.
    A first line that only introduces a list ("The code failed the static checks:") brings its first
    item along, since the item is the message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    if line is lines[0] and line.endswith(":") and len(lines) > 1:
        line = f"{line} {lines[1].lstrip('- ')}"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def monitor_series(archive: Archive) -> dict[str, list[tuple[int, float]]]:
    """The exploration monitor's per-generation figures: metric -> [(generation, value), ...].

    Read from `monitor` events (one per generation, numeric payload fields are the metrics); a later
    event for the same generation replaces an earlier one (a resumed generation)."""
    by_gen: dict[int, dict[str, Any]] = {}
    for event in archive.events("monitor"):
        gen = event.generation if event.generation is not None else event.payload.get("generation")
        if isinstance(gen, int):
            by_gen[gen] = event.payload
    series: dict[str, list[tuple[int, float]]] = {}
    for gen in sorted(by_gen):
        for key, value in by_gen[gen].items():
            if key == "generation" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            series.setdefault(key, []).append((gen, float(value)))
    return series


def compiled_manual(archive: Archive) -> str | None:
    """The latest compiled rule manual, if the run logged one (`manual` event with a `text` field)."""
    events = archive.events("manual")
    for event in reversed(events):
        text = event.payload.get("text")
        if isinstance(text, str) and text.strip():
            return text
    return None


def payload_items(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """A payload's fields as (name, text) pairs for display; lists are joined, nested values as JSON."""
    import json

    items: list[tuple[str, str]] = []
    for key, value in payload.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict | list):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = str(value)
        items.append((key, text))
    return items
