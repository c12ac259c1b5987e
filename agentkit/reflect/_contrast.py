"""Contrastive pairs: one parent-to-child change that raised the score and one that lowered it, with
both scores and the code diff, for the meta agent to find the principle behind the difference."""

from __future__ import annotations

import difflib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agentkit._resources import read_prompt, render
from agentkit.records import clip
from agentkit.reflect._outcome import mean_change

if TYPE_CHECKING:
    from agentkit.archive import Archive

_POOL = 3
"""A pair is drawn from the largest few changes of each sign (large changes teach most; drawing among a
few keeps the prompt from showing the same pair every time)."""


@dataclass(frozen=True)
class Change:
    """A parent-to-child edge with the scores of both on their shared search examples."""

    parent_id: str
    child_id: str
    parent_score: float
    child_score: float
    n_shared: int

    @property
    def delta(self) -> float:
        """child - parent."""
        return self.child_score - self.parent_score


def score_changes(archive: Archive) -> list[Change]:
    """Every child with search results against its main parent, on their shared examples."""
    matrix = archive.correctness_matrix("search")
    out = []
    for agent in archive.agents():
        if not agent.parents or agent.id not in matrix or agent.parents[0] not in matrix:
            continue
        child, parent = matrix[agent.id], matrix[agent.parents[0]]
        change = mean_change(child, parent)
        if change is None:
            continue
        shared = [e for e in child if e in parent]
        out.append(
            Change(
                parent_id=agent.parents[0],
                child_id=agent.id,
                parent_score=sum(parent[e] for e in shared) / len(shared),
                child_score=sum(child[e] for e in shared) / len(shared),
                n_shared=len(shared),
            )
        )
    return out


def _diff(archive: Archive, change: Change, limit: int) -> str:
    old = archive.agent(change.parent_id).code.splitlines()
    new = archive.agent(change.child_id).code.splitlines()
    lines = difflib.unified_diff(
        old, new, fromfile=change.parent_id, tofile=change.child_id, n=1, lineterm=""
    )
    return clip("\n".join(lines), limit) or "(no difference in code)"


def _label(archive: Archive, agent_id: str) -> str:
    return f"{archive.agent(agent_id).name} ({agent_id})"


def contrast_block(
    archive: Archive, *, generation: int, seed: int, probability: float, diff_chars: int
) -> str:
    """The contrastive block for `generation`, or "" when this generation does not draw one (chance
    `probability`, seeded) or the archive has no rise and no fall to show yet."""
    rng = random.Random(f"agentkit-reflect/contrast/{seed}/{generation}")
    if probability <= 0 or rng.random() >= probability:
        return ""
    changes = score_changes(archive)
    ups = sorted((c for c in changes if c.delta > 0), key=lambda c: (-c.delta, c.child_id))[:_POOL]
    downs = sorted((c for c in changes if c.delta < 0), key=lambda c: (c.delta, c.child_id))[:_POOL]
    if not ups or not downs:
        return ""
    up, down = rng.choice(ups), rng.choice(downs)
    return render(
        read_prompt("reflect_contrast.md"),
        {
            "up_parent": _label(archive, up.parent_id),
            "up_parent_score": f"{up.parent_score:.2f}",
            "up_child": _label(archive, up.child_id),
            "up_child_score": f"{up.child_score:.2f} (on the same {up.n_shared} questions)",
            "up_diff": _diff(archive, up, diff_chars),
            "down_parent": _label(archive, down.parent_id),
            "down_parent_score": f"{down.parent_score:.2f}",
            "down_child": _label(archive, down.child_id),
            "down_child_score": f"{down.child_score:.2f} (on the same {down.n_shared} questions)",
            "down_diff": _diff(archive, down, diff_chars),
        },
    ).strip()
