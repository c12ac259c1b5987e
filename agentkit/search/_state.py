"""The checkpoint of a generation in progress, as typed models.

Stored in the archive's ``run_state`` under ``generation_state`` (as JSON) in the same transaction as
each step it describes, so a resumed run continues at the step after the last commit. The field names
are the keys runs have always stored, so a checkpoint written before these models existed still loads.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from agentkit.search._hooks import GenerationSettings

GENERATION_STATE = "generation_state"
"""Key of the generation checkpoint in the archive's ``run_state``."""

StopStatus = Literal["finished", "interrupted", "budget_exhausted"]


class SlotState(BaseModel):
    """One candidate of a generation: who it descends from and how far it got."""

    model_config = ConfigDict(extra="ignore")

    slot: int
    """Index of the candidate within its generation."""
    parents: list[str]
    """Ids of its parents (main parent first)."""
    inspirations: list[str] = []
    """Ids of the further agents shown to the meta agent."""
    attempt: int = 0
    """Debug attempt of the current agent (0: the first proposal)."""
    agent_id: str | None = None
    """The slot's current agent (None until proposed)."""
    prompt: list[dict[str, str]] | None = None
    """The meta prompt the proposal answered (fix requests continue that conversation)."""
    done: bool = False
    """Whether the slot's last agent is stored and needs no fix."""
    form: Literal["code", "workflow"] = "code"
    """What the meta agent is asked for: agent code or a workflow spec."""
    partner: Literal["complementary", "random"] | None = None
    """How the second parent was chosen in complementary mode: the complementary partner or the random
    control (`SearchConfig.control_share`); None in other modes and in checkpoints from before."""
    review_control: str | None = None
    """Id of the ``control`` agent holding the proposal before self-review, when it is scored
    (`SearchConfig.review_check`)."""

    def sample_index(self, generation: int) -> int:
        """Distinct cache keys per candidate of `generation`, the same ones again on resume."""
        return generation * 1000 + self.slot


class SettingsState(BaseModel):
    """The generation's settings after the hooks had their say (stored so a resume keeps them)."""

    model_config = ConfigDict(extra="ignore")

    meta_temperature: float
    inspirations: int
    screen_size: int

    @classmethod
    def of(cls, settings: GenerationSettings) -> SettingsState:
        """The stored part of the hooks' settings (their notes are logged, not kept)."""
        return cls(
            meta_temperature=settings.meta_temperature,
            inspirations=settings.inspirations,
            screen_size=settings.screen_size,
        )


class GenerationState(BaseModel):
    """The generation in progress: its settings, the cascade bar and one slot per candidate."""

    model_config = ConfigDict(extra="ignore")

    generation: int
    bar: float | None = None
    """Mean search score a candidate must still be able to beat at screening (None: no bar yet)."""
    best: str | None = None
    """The agent that set the bar."""
    settings: SettingsState
    slots: list[SlotState]

    @classmethod
    def load(cls, stored: Any, generation: int) -> GenerationState | None:
        """The stored checkpoint when it is one of `generation`, else None (none stored, or a finished
        generation's leftover)."""
        if not isinstance(stored, dict) or stored.get("generation") != generation:
            return None
        return cls.model_validate(stored)

    def dump(self) -> dict[str, Any]:
        """The JSON form kept in the archive (a code slot stores no ``form``, and unset newer fields are
        left out: the shape it always had)."""
        data = self.model_dump(mode="json")
        for slot in data["slots"]:
            if slot.get("form") == "code":
                del slot["form"]
            for key in ("partner", "review_control"):
                if slot.get(key) is None:
                    slot.pop(key, None)
        return data
