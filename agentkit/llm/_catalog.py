"""Which ``openai/<name>`` models litellm has something to say about, told from its bundled price map
without importing litellm (the import takes seconds).

A call to an OpenAI-compatible endpoint needs litellm only when litellm would change the request or
price the reply: when its price map lists the name, or the name looks like one of OpenAI's reasoning
models (litellm renames their ``max_tokens`` and drops their temperature). A self-hosted server's
model (``fake``, ``smollm2``, ``Qwen/Qwen2.5-7B-Instruct``) is neither, so its calls go straight over
HTTP with no litellm in the process, and are reported with no price, as litellm would report them.
Whenever the map cannot be read, every name counts as known (litellm is then asked, as before).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from pathlib import Path

_MAP_FILE = "model_prices_and_context_window_backup.json"
# OpenAI's reasoning families: o1, o3, o4-mini..., gpt-5 and later (litellm treats them by name).
_REASONING_LAST = re.compile(r"^o\d", re.IGNORECASE)
_REASONING_ANY = re.compile(r"gpt-?([5-9]|\d\d)", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def listed_names() -> frozenset[str] | None:
    """The model keys of litellm's bundled price map (the one agentkit makes it use), None when the map
    cannot be found or read. Read once per process, without importing litellm."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / _MAP_FILE
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            return frozenset(str(key) for key in data)
    return None


@functools.lru_cache(maxsize=1024)
def litellm_knows(name: str) -> bool:
    """True when litellm may price ``openai/<name>`` or change the parameters sent for it: the name (or
    a ``/``-suffix of it, with or without ``openai/``) is in its price map, it is a fine-tune
    (``ft:``), or it is named like an OpenAI reasoning model. Also True when the map is unreadable."""
    listed = listed_names()
    if listed is None:
        return True
    if name.startswith("ft:") or _REASONING_ANY.search(name):
        return True
    parts = name.split("/")
    if _REASONING_LAST.match(parts[-1]):
        return True
    for start in range(len(parts)):
        suffix = "/".join(parts[start:])
        if suffix in listed or f"openai/{suffix}" in listed:
            return True
    return False
