"""Turn an exception raised by agent code into a failure record (kind, message, traceback).

STDLIB ONLY: shipped as source into the sandbox worker, and used in-process by the TrustedRunner.
"""

from __future__ import annotations

import traceback as _traceback

try:
    from agentkit.records._text import clip
except ModuleNotFoundError:  # in the sandbox worker, which has no agentkit: the payload ships that file here
    from ._text import clip  # type: ignore[no-redef]

MAX_MESSAGE_CHARS = 500

HOST_KINDS = frozenset({"budget", "provider"})
"""Failure kinds only the host can give (in its reply to a model call), never agent code by itself."""
MAX_TRACEBACK_CHARS = 20_000


class AgentTimeout(BaseException):
    """Raised inside agent code when its wall or CPU time runs out.

    A BaseException so that agent code's `except Exception:` cannot swallow it.
    """


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen and len(seen) < 20:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def kind_of(exc: BaseException) -> str:
    """The FailureKind for an exception that escaped agent code."""
    names = _names(exc)
    if isinstance(exc, AgentTimeout):
        return "timeout"
    if isinstance(exc, SyntaxError) or names & {"AgentCodeError", "InvalidAgentCode"}:
        return "syntax"
    # The runtime raises LLMCallError in agent code when the host answered a model call with an error;
    # its `kind` is the host's word for why: "budget" when the run's budget refused the call, "provider"
    # when the provider failed. (The relay accepts those two only when the host really said so.)
    if "LLMCallError" in names:
        try:
            host_kind = getattr(exc, "kind", None)
        except Exception:  # a hostile property must not break error reporting
            host_kind = None
        return host_kind if type(host_kind) is str and host_kind in HOST_KINDS else "llm"
    if any(isinstance(e, MemoryError) for e in _chain(exc)):
        return "memory"
    return "exception"


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """The first non-empty line of `text`, cut to `limit` characters."""
    for line in text.splitlines():
        if line.strip():
            text = line.strip()
            break
    return text if len(text) <= limit else text[: limit - 3] + "..."


def failure(kind: str, message: str, traceback: str = "") -> dict[str, str]:
    """A failure record {kind, message, traceback}: the message on one line, the traceback's end kept."""
    return {
        "kind": kind,
        "message": one_line(message),
        "traceback": clip(traceback, MAX_TRACEBACK_CHARS, keep="tail"),
    }


def describe(exc: BaseException) -> dict[str, str]:
    """A failure record {kind, message, traceback} for an exception raised by agent code."""
    kind = kind_of(exc)
    try:
        detail = str(exc)
    except Exception:  # a hostile __str__ must not break error reporting
        detail = "(unprintable)"
    message = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    try:
        tb = "".join(_traceback.format_exception(exc))
    except Exception:  # a hostile __str__ must not break error reporting
        tb = f"{type(exc).__name__} (traceback unavailable)"
    return failure(kind, message, tb)
