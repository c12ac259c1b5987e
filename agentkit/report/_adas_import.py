"""`agentkit import-adas`: an ADAS archive file as a new run, so its agents can be re-evaluated here with
sound statistics (`agentkit eval --run RUN_DIR`).

ADAS writes its archives as a JSON list of ``{thought, name, code, fitness, generation, ...}``: the search's
``*_run_archive.json``, and ``*_evaluate.json`` / the published ``results/*.json``, whose entries also
carry ``test_fitness``. Every entry with code that defines ``forward`` is imported. A thought ADAS stored
as a JSON object (``{"Insights": ..., "Overall Idea": ..., "Implementation": ...}``) is kept as its JSON
text.

ADAS's reported fitness (a string such as ``95% Bootstrap Confidence Interval: (12.5%, 25.0%), Median:
18.8%``) is kept as it was and parsed (interval and median), in each agent's meta (``adas_fitness``,
``adas_fitness_parsed``, and ``adas_test_fitness``, ``adas_test_fitness_parsed`` where given) and in an
import event. `adas_reported` reads it back; `show` and the report put it beside agentkit's own scores.
It is never stored as one of our scores, because it was measured elsewhere, on other examples, with
another model.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agentkit.errors import ArchiveError, ConfigError

_CORE_KEYS = ("thought", "name", "code", "fitness", "test_fitness", "generation")
_INTERVAL = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s*%?\s*,\s*(-?\d+(?:\.\d+)?)\s*%?\s*\)")
_MEDIAN = re.compile(r"median\s*[:=]?\s*(-?\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_CONFIDENCE = re.compile(r"(\d+(?:\.\d+)?)\s*%\s*bootstrap", re.IGNORECASE)


class AdasFitness(BaseModel):
    """An ADAS fitness value read into numbers (fractions, 0..1)."""

    median: float | None = None
    """The median (ADAS's point estimate)."""
    low: float | None = None
    """Lower bound of ADAS's bootstrap interval."""
    high: float | None = None
    """Upper bound of ADAS's bootstrap interval."""
    confidence: float | None = None
    """Confidence level of the interval, where stated."""


class AdasScore(AdasFitness):
    """One score ADAS reported for an agent: its text as ADAS wrote it, and the numbers read from it."""

    text: str | None = None
    """ADAS's text, as it was (JSON for a value that was not a string)."""


class AdasReported(BaseModel):
    """The scores ADAS reported for an imported agent (measured by ADAS, on its own examples, with its
    own model): shown beside agentkit's scores, never used as one of them."""

    fitness: AdasScore | None = None
    """ADAS's ``fitness``: the score its search measured (on its validation questions)."""
    test_fitness: AdasScore | None = None
    """ADAS's ``test_fitness``: its score on held-out questions, where the file has one."""


def _reported(raw: Any, parsed: Any) -> AdasScore | None:
    if raw is None and not isinstance(parsed, dict):
        return None
    numbers = AdasFitness.model_validate(parsed) if isinstance(parsed, dict) else AdasFitness()
    text = raw if isinstance(raw, str) or raw is None else json.dumps(raw, ensure_ascii=False)
    return AdasScore(**numbers.model_dump(), text=text)


def adas_reported(meta: dict[str, Any]) -> AdasReported | None:
    """The scores ADAS reported, from an imported agent's meta; None for an agent not imported from ADAS
    (or imported without any fitness)."""
    if "adas_index" not in meta:
        return None
    reported = AdasReported(
        fitness=_reported(meta.get("adas_fitness"), meta.get("adas_fitness_parsed")),
        test_fitness=_reported(meta.get("adas_test_fitness"), meta.get("adas_test_fitness_parsed")),
    )
    return reported if reported.fitness or reported.test_fitness else None


class SkippedEntry(BaseModel):
    """An entry of the ADAS file that was not imported."""

    index: int
    """Position of the entry in the JSON list (0-based)."""
    reason: str
    """Why it was skipped."""


class ImportedAgent(BaseModel):
    """An entry imported as an agent."""

    index: int
    """Position of the entry in the JSON list (0-based)."""
    agent_id: str
    """Id of the new agent in the run."""
    name: str
    """Its name."""
    generation: int
    """Generation taken from the entry (0 when it had none, or ``initial``)."""
    fitness: str | None
    """ADAS's fitness text, as it was."""
    test_fitness: str | None = None
    """ADAS's test fitness text, as it was (files from ADAS's evaluation carry one)."""


class ImportReport(BaseModel):
    """What `import_adas` did."""

    run_dir: Path
    """The new run directory."""
    source: Path
    """The ADAS file read."""
    imported: list[ImportedAgent] = Field(default_factory=list)
    """Entries that became agents, in file order."""
    skipped: list[SkippedEntry] = Field(default_factory=list)
    """Entries that were malformed, with the reason."""


def parse_adas_fitness(value: Any) -> AdasFitness | None:
    """Read ADAS's fitness (string with an interval and a median, or a bare number) into fractions.

    Percentages become fractions; a bare number above 1 is taken as a percentage. None when nothing in it
    is a number (an infinity or NaN, which JSON's 1e999 reads as, is none)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        v = float(value)
        if not math.isfinite(v):
            return None
        v = v / 100 if v > 1 else v
        return AdasFitness(median=v)
    if not isinstance(value, str):
        return None
    out = AdasFitness()
    interval = _INTERVAL.search(value)
    if interval:
        out.low, out.high = (float(interval.group(i)) / 100 for i in (1, 2))
    median = _MEDIAN.search(value)
    if median:
        out.median = float(median.group(1)) / 100 if median.group(2) or interval else float(median.group(1))
    conf = _CONFIDENCE.search(value)
    if conf:
        out.confidence = float(conf.group(1)) / 100
    if out.median is None and out.low is None:
        bare = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*", value)
        if not bare:
            return None
        v = float(bare.group(1))
        out.median = v / 100 if bare.group(2) or v > 1 else v
    return out


def _generation(value: Any) -> int | None:
    """ADAS marks seeds `"initial"`; later entries carry an int (sometimes as a string)."""
    if value is None or value == "initial":
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def defines_forward(tree: ast.Module) -> bool:
    """Whether parsed agent code defines a top-level ``forward`` function (an import's entry, an export)."""
    return any(
        isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == "forward" for n in tree.body
    )


def _check_entry(entry: Any) -> str | None:
    """Why an entry cannot be imported, or None when it can."""
    if not isinstance(entry, dict):
        return f"not an object but {type(entry).__name__}"
    code = entry.get("code")
    if not isinstance(code, str) or not code.strip():
        return "no 'code' string"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return f"code does not parse (line {exc.lineno}: {exc.msg})"
    if not defines_forward(tree):
        return "code defines no forward() function"
    if _generation(entry.get("generation")) is None:
        return f"'generation' {entry.get('generation')!r} is not a generation number"
    return None


def _as_text(value: Any) -> str:
    """A name or thought as text: strings as they are, anything else (ADAS stores some thoughts as
    JSON objects) as its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), ensure_ascii=False, indent=2)


def _fitness_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(_jsonable(value), ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _remove_new(run_dir: Path, before: set[Path] | None) -> None:
    """Remove what an import that failed created: the run directory, or what it added to a directory
    that existed (`before`: its entries then)."""
    if before is None:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for path in set(run_dir.iterdir()) - before:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def default_import_dir(source: Path) -> Path:
    """`archives/adas-<file stem>` (relative to the working directory)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", source.stem).strip("-") or "import"
    return Path("archives") / f"adas-{stem}"


def import_adas(
    source: str | Path, *, out: str | Path | None = None, task: str | None = None
) -> ImportReport:
    """Create a new run from an ADAS archive file. Every entry with code defining ``forward`` becomes an
    agent with origin ``import`` (status ``proposed``, so it gets evaluated here), its thought as text
    (JSON when ADAS stored an object) and ADAS's reported scores in its meta; entries without usable code
    are reported by index and skipped. The new run is locked while it is written. ConfigError when the
    file is not a JSON list; ArchiveError when the run directory holds one."""
    from agentkit.archive import Archive

    src = Path(source)
    try:
        data = json.loads(src.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read ADAS file {src}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{src} is not UTF-8 text (byte {exc.start}): is it an ADAS archive?") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{src} is not JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    if not isinstance(data, list):
        raise ConfigError(f"{src}: an ADAS archive is a JSON list of agents, got {type(data).__name__}")
    run_dir = Path(out) if out is not None else default_import_dir(src)
    if not data:
        raise ConfigError(f"{src}: the ADAS archive holds no agents")
    if Archive.exists(run_dir):
        raise ArchiveError(f"{run_dir} already holds an archive; choose another --out")
    report = ImportReport(run_dir=run_dir, source=src)
    config = {
        "task": task,
        "source": "adas-import",
        "adas_file": str(src.resolve()),
        "adas_entries": len(data),
        "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    before = set(run_dir.iterdir()) if run_dir.is_dir() else None
    try:
        with Archive.create(run_dir, config, lock=True) as archive, archive.transaction():
            for index, entry in enumerate(data):
                problem = _check_entry(entry)
                if problem is not None:
                    report.skipped.append(SkippedEntry(index=index, reason=problem))
                    continue
                generation = _generation(entry.get("generation"))
                assert generation is not None  # _check_entry made sure
                fitness_raw = entry.get("fitness")
                parsed = parse_adas_fitness(fitness_raw)
                name = _as_text(entry.get("name")).strip() or f"ADAS agent {index}"
                extra = {k: _jsonable(v) for k, v in entry.items() if k not in _CORE_KEYS}
                meta: dict[str, Any] = {
                    "adas_index": index,
                    "adas_fitness": None if fitness_raw is None else _jsonable(fitness_raw),
                    "adas_fitness_parsed": parsed.model_dump() if parsed else None,
                    "adas_generation": _jsonable(entry.get("generation")),
                }
                if "test_fitness" in entry:
                    test_raw = entry["test_fitness"]
                    test_parsed = parse_adas_fitness(test_raw)
                    meta["adas_test_fitness"] = None if test_raw is None else _jsonable(test_raw)
                    meta["adas_test_fitness_parsed"] = test_parsed.model_dump() if test_parsed else None
                if not isinstance(entry.get("thought"), str | None):
                    meta["adas_thought_type"] = type(entry["thought"]).__name__  # kept as its JSON text
                if extra:
                    meta["adas_extra"] = extra
                record = archive.add_agent(
                    name,
                    entry["code"],
                    thought=_as_text(entry.get("thought")).strip(),
                    generation=generation,
                    origin="import",
                    status="proposed",
                    meta=meta,
                )
                report.imported.append(
                    ImportedAgent(
                        index=index,
                        agent_id=record.id,
                        name=name,
                        generation=generation,
                        fitness=_fitness_text(fitness_raw),
                        test_fitness=_fitness_text(entry.get("test_fitness")),
                    )
                )
            archive.log_event(
                "adas_import",
                {
                    "source": str(src.resolve()),
                    "entries": len(data),
                    "imported": [
                        {
                            "index": a.index,
                            "agent_id": a.agent_id,
                            "name": a.name,
                            "fitness": a.fitness,
                            "test_fitness": a.test_fitness,
                        }
                        for a in report.imported
                    ],
                    "skipped": [s.model_dump() for s in report.skipped],
                },
                generation=0,
            )
        if not report.imported:
            first = report.skipped[0]
            raise ConfigError(
                f"{src}: none of its {len(data)} entries can be imported (entry {first.index}: {first.reason})"
            )
    except BaseException:
        _remove_new(run_dir, before)  # a run that was never whole must not block the next try
        raise
    return report
