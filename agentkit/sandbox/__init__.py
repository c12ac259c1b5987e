"""Run untrusted agent code: isolated warm worker processes, per-example limits, model calls over RPC.

`Sandbox` is the default; `TrustedRunner` runs reviewed code in-process with the same interface.
`llm_error_reply` is how the host answers a model call it could not make (its kind: "llm", "provider"
or "budget").
The isolation level in force (`Sandbox.isolation_level`) is one of:

- "bwrap+seccomp": bubblewrap (no network, no capabilities, uid 65534, only the Python runtime visible,
  private /tmp) plus rlimits and seccomp (no sockets, processes, exec, ptrace).
- "bwrap": the same without seccomp.
- "process+seccomp": separate process, scrubbed environment, rlimits, seccomp, uid 65534 when root;
  the host's files stay readable unless the kernel has Landlock (`Sandbox.landlock`), which then limits
  reads to the Python runtime and writes to a private temp directory.
- "process": separate process, scrubbed environment and rlimits only.
"""

from __future__ import annotations

from agentkit.sandbox._config import AgentRun, LLMHandler, SandboxConfig, llm_error_reply
from agentkit.sandbox._isolation import LEVEL_NOTES, IsolationLevel
from agentkit.sandbox._sandbox import Sandbox
from agentkit.sandbox._trusted import TrustedRunner

__all__ = [
    "LEVEL_NOTES",
    "AgentRun",
    "IsolationLevel",
    "LLMHandler",
    "Sandbox",
    "SandboxConfig",
    "TrustedRunner",
    "llm_error_reply",
]
