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
def _map_bytes() -> bytes | None:
    """The bundled price map's raw text (the one agentkit makes litellm use), None when there is none."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        try:
            return (Path(location) / _MAP_FILE).read_bytes()
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=1)
def listed_names() -> frozenset[str] | None:
    """The model keys of litellm's bundled price map, None when the map cannot be found or read. Read
    once per process, without importing litellm."""
    raw = _map_bytes()
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return frozenset(str(key) for key in data) if isinstance(data, dict) else None


# A top-level key as litellm writes the map (indented, one model per object).
_FIRST_KEY = re.compile(rb'\A\{\s*"([^"\\]+)": \{')
_PLAIN_NAME = re.compile(r"[\x20-\x7e]+")


def _listed(name: str) -> bool:
    """Whether `name` is a key of the map. Parsing the map's 3 MB of JSON took 40 ms of every command's
    start, so a plain name is looked up in its text, when the text is laid out as litellm writes it;
    anything else takes the parsed keys."""
    raw = _map_bytes()
    if raw is None:
        return True
    plain = _PLAIN_NAME.fullmatch(name) and '"' not in name and "\\" not in name
    if plain and _FIRST_KEY.match(raw):
        return b'"' + name.encode() + b'": {' in raw
    listed = listed_names()
    return listed is None or name in listed


@functools.lru_cache(maxsize=1024)
def litellm_knows(name: str) -> bool:
    """True when litellm may price ``openai/<name>`` or change the parameters sent for it: the name (or
    a ``/``-suffix of it, with or without ``openai/``) is in its price map, it is a fine-tune
    (``ft:``), or it is named like an OpenAI reasoning model. Also True when the map is unreadable."""
    if _map_bytes() is None:
        return True
    if name.startswith("ft:") or _REASONING_ANY.search(name):
        return True
    parts = name.split("/")
    if _REASONING_LAST.match(parts[-1]):
        return True
    for start in range(len(parts)):
        suffix = "/".join(parts[start:])
        if _listed(suffix) or _listed(f"openai/{suffix}"):
            return True
    return False
