"""Manuals that carry over: a new search starts from another run's active rules (``--manual-from RUN``,
``reflect.manual_from``).

- `read_manual_source` reads the other run's active rules, or refuses with `ManualSourceError` a
  directory that is not a run or a run without active rules (`agentkit.run_search` calls it before the
  new run directory exists, so a bad name leaves nothing behind).
- `import_manual` writes them into the new run once, before its first generation, as active rules with
  fresh ids, each marked with its origin (`agentkit.archive.RuleOrigin`: the run, the rule's id there,
  its lift there). Their evidence comes along, its agent ids qualified by the source run's name
  (``first-run:a0007``) so that they can never be taken for agents of the new run. The rules and a
  ``manual_import`` event are written in one transaction; the event is how a resumed run knows that the
  import is done, so it never imports twice.
- From then on an imported rule is a rule like any other: shown to the meta agent (some generations
  hidden to measure its lift), updated or retired by the builder, retired by its lift, staleness or the
  cap. The report (`agentkit.report`, "Measured effects") shows which of them survived (still active)
  and which were retired, with the reason and their lift measured in this run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agentkit.archive import RuleOrigin, RuleRecord
from agentkit.errors import ArchiveError, ManualSourceError

if TYPE_CHECKING:
    from agentkit.archive import Archive

IMPORT_EVENT = "manual_import"
"""Event logged when the rules of another run were imported (or the import failed); one per run."""


class ManualSource(BaseModel):
    """The active rules of another run, ready to be imported."""

    run_dir: str
    """The run directory, resolved."""
    rules: list[RuleRecord] = Field(default_factory=list)
    """Its active rules, in creation order."""


def read_manual_source(run_dir: str | Path) -> ManualSource:
    """The active rules of the run in `run_dir` (read without a lock, so that run may still be going).
    ManualSourceError when `run_dir` is not a run directory, cannot be read, or has no active rule."""
    from agentkit.archive import Archive

    path = Path(run_dir).expanduser()
    named = str(run_dir)
    try:
        with Archive.open(path, repair_files=False) as archive:
            rules = archive.rules()
    except ArchiveError as exc:
        raise ManualSourceError(
            f"--manual-from {named}: not a run directory whose manual can be read ({exc})", run_dir=named
        ) from exc
    active = [r for r in rules if r.status == "active"]
    if not active:
        have = f"its {len(rules)} rules are all retired or candidates" if rules else "it has no rules"
        raise ManualSourceError(
            f"--manual-from {named}: the run has no active rules to carry over ({have})", run_dir=named
        )
    return ManualSource(run_dir=str(path.resolve()), rules=active)


def carried_over(archive: Archive) -> bool:
    """Whether this run has already imported (or tried to import) another run's manual."""
    return bool(archive.events(IMPORT_EVENT))


def import_manual(archive: Archive, source: ManualSource, *, generation: int) -> list[RuleRecord]:
    """Write the rules of `source` into `archive` as active, imported rules (see the module docstring),
    with the ``manual_import`` event, in one transaction; returns the rules written."""
    name = Path(source.run_dir).name
    written: list[RuleRecord] = []
    with archive.transaction():
        for rule in source.rules:
            evidence = [
                e.model_copy(update={"agent_id": f"{name}:{e.agent_id}", "reflection_id": None})
                for e in rule.evidence
            ]
            origin = RuleOrigin(
                run_dir=source.run_dir, rule_id=rule.id, created_gen=rule.created_gen, lift=rule.lift
            )
            written.append(
                archive.add_rule(
                    rule.type,
                    rule.text,
                    generation=generation,
                    scope=rule.scope,
                    example=rule.example,
                    status="active",
                    evidence=evidence,
                    imported_from=origin,
                )
            )
        archive.log_event(
            IMPORT_EVENT,
            {
                "from": source.run_dir,
                "rules": {new.id: old.id for new, old in zip(written, source.rules, strict=True)},
            },
            generation=generation,
        )
    return written


def import_failed(archive: Archive, run_dir: str, error: Exception, *, generation: int) -> None:
    """Record that the import from `run_dir` failed (the run goes on with its own manual only; the
    event also keeps a resumed run from trying again)."""
    archive.log_event(
        IMPORT_EVENT,
        {"from": run_dir, "rules": {}, "error": f"{type(error).__name__}: {error}"},
        generation=generation,
    )
