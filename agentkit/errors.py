"""The typed exception hierarchy. Every error agentkit raises on purpose derives from `AgentkitError`,
so an app can catch one type; the subclasses say which part failed and carry what is needed to act."""

from __future__ import annotations


class AgentkitError(Exception):
    """Base class of every error agentkit raises on purpose."""


class ConfigError(AgentkitError):
    """A setting, flag or configuration value is wrong or missing."""


# --- LLM client -------------------------------------------------------------------------------------


class LLMError(AgentkitError):
    """A model call failed."""


class ProviderError(LLMError):
    """The provider refused the request (a 4xx that will not change) or retries ran out.

    `status` is the HTTP status where one was seen.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts

    @property
    def infrastructure(self) -> bool:
        """True when the failure is the provider's or the way to it, not the request's: no status
        (timeouts, dropped connections, unreadable replies), authentication and permission (401, 403),
        payment or quota (402), an unknown model or endpoint (404), or a retried status (408, 409, 425,
        429, 5xx) that outlasted the retries. False for a request the provider refuses as it is (400,
        413, 422, ...): one that agent code built can be the agent's own fault."""
        status = self.status
        return status is None or status in _INFRASTRUCTURE_STATUSES or status >= 500


_INFRASTRUCTURE_STATUSES = frozenset({401, 402, 403, 404, 408, 409, 425, 429})


class ProviderAuthError(AgentkitError):
    """The provider refused the credentials (HTTP 401 or 403): nothing will change until the key does.

    Deliberately not an `LLMError`: code that tolerates a failed model call and goes on (a meta agent's
    proposal, a reflection, an agent's own ``try``) must not tolerate this one. It is not retried, a
    client answers every further call to the same model with it without sending anything, and the
    evaluator raises it on the host whatever agent code did with its failed call, so a command stops at
    once instead of recording every example as unscored. `model` names the model, `key_variable` the
    environment variable the key came from when that is known (else None), `status` the HTTP status.
    """

    def __init__(
        self, message: str, *, model: str, status: int | None, key_variable: str | None = None
    ) -> None:
        super().__init__(message)
        self.model = model
        self.status = status
        self.key_variable = key_variable


class BudgetExceeded(LLMError):
    """The next call would cross the hard budget. Raised *before* the call is sent.

    `spent` describes what was already spent (cost, calls, tokens) when the call was refused.
    """

    def __init__(self, message: str, *, spent: dict[str, float | int | None] | None = None) -> None:
        super().__init__(message)
        self.spent = spent or {}


class StructuredOutputError(LLMError):
    """A reply could not be parsed into the requested fields. `raw` holds the model's text."""

    def __init__(self, message: str, *, raw: str) -> None:
        super().__init__(message)
        self.raw = raw


class LocalModelUnavailable(LLMError):
    """The embedded local model cannot be started (extra missing, model file missing, server died)."""


# --- Tasks ------------------------------------------------------------------------------------------


class TaskError(AgentkitError):
    """A task name is unknown or its data cannot be used."""


class DatasetNotFound(TaskError):
    """Data for a task is not available locally and cannot be downloaded."""


class DatasetFormatError(TaskError):
    """A data file has a malformed row. `path` and `line` (1-based) say where."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


# --- Agents, sandbox, archive -----------------------------------------------------------------------


class AgentCodeError(AgentkitError):
    """Agent code is invalid before it runs (does not parse, no `forward`, unknown names)."""


class SandboxError(AgentkitError):
    """The sandbox itself failed (not the agent code inside it)."""


class ClusterError(AgentkitError):
    """Work spread over a cluster (``--executor ray``) could not go on: no evaluation actor is left, or
    they keep getting lost."""


class ArchiveError(AgentkitError):
    """A run directory or archive database is missing, corrupt or from an incompatible version."""


class RunLocked(ArchiveError):
    """Another process holds the run directory (one run, one writer): a second search, `--resume`,
    import or evaluation into the same run is refused. `holder` describes the process that holds it
    (an `agentkit.archive.LockHolder`: pid, host, command, since when), `run_dir` the directory."""

    def __init__(self, message: str, *, run_dir: str, holder: object | None = None) -> None:
        super().__init__(message)
        self.run_dir = run_dir
        self.holder = holder


class SearchError(AgentkitError):
    """Meta Agent Search cannot continue."""


class ManualSourceError(ConfigError):
    """The run named to carry its rule manual over (``--manual-from RUN``) cannot give one: it is not a
    run directory, or it has no active rules. `run_dir` is the directory named."""

    def __init__(self, message: str, *, run_dir: str) -> None:
        super().__init__(message)
        self.run_dir = run_dir
