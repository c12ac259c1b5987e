"""Errors raised inside agent code. Stdlib only: this package also runs inside the sandbox worker."""

from __future__ import annotations


class LLMCallError(Exception):
    """A model call made by agent code failed for good (provider error, budget exhausted, call limit).

    `kind` is the host's classification: ``"budget"`` when the run's budget refused the call,
    ``"provider"`` when the provider failed (the example is then left unscored, whether or not agent
    code catches this), else ``"llm"``. Agent code may catch it, but usually should not: the evaluator
    records it as a failure of the example of that kind.
    """

    def __init__(self, message: str, *, kind: str = "llm") -> None:
        super().__init__(message)
        self.kind = kind


class InvalidAgentCode(Exception):
    """Agent code cannot be run at all: it does not define a usable `forward(self, taskInfo)`."""
