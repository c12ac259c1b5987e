"""Fail fast on configuration: a model whose provider needs a key that is not set stops a command before
anything runs, with one message naming the model and the variable.

litellm knows which environment variables each provider reads (`litellm.validate_environment`); it is
imported here only when some model needs checking (not for ``local``, a self-hosted endpoint or a
config that carries its own key), so ``agentkit --help`` never pays for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from agentkit.errors import ConfigError
from agentkit.llm._config import _DEFAULTS_BY_KEY, LOCAL_MODEL, ModelConfig

# The variable each provider of the defaults reads its key from (provider prefix -> variable).
_KEY_OF_PROVIDER = {model.split("/", 1)[0]: key for key, model in _DEFAULTS_BY_KEY}


def missing_keys(model: ModelConfig) -> list[str]:
    """The environment variables `model`'s provider needs and that are all unset (any one of them would
    do), or [] when nothing is missing or it cannot be told.

    Only key variables (``*_API_KEY``, ``*_TOKEN``) are reported: providers that can take credentials
    from elsewhere (AWS profiles and roles, gcloud, Azure endpoints) are left to their first call.
    """
    from agentkit.llm._endpoints import api_base_of

    # An endpoint of its own (given, or OPENAI_BASE_URL for openai/...) may want no key at all.
    if model.model == LOCAL_MODEL or model.api_key or api_base_of(model):
        return []
    from agentkit.llm._litellm import get_litellm

    try:
        verdict = get_litellm().validate_environment(model=model.model)
    except Exception:  # an unknown provider or a litellm change: let the first call say it
        return []
    if not isinstance(verdict, dict) or verdict.get("keys_in_environment", True):
        return []
    names = [str(k) for k in verdict.get("missing_keys") or []]
    if not names or not all(k.endswith(("_API_KEY", "_TOKEN")) for k in names):
        return []
    return names


def key_variable(model: ModelConfig) -> str | None:
    """The environment variable `model`'s key comes from, when that is known: None for the embedded
    model, a config given a key of its own (one that is not that variable's value), and providers
    outside agentkit's defaults."""
    variable = _KEY_OF_PROVIDER.get(model.model.split("/", 1)[0])
    if model.model == LOCAL_MODEL or variable is None:
        return None
    if model.api_key is None or model.api_key == os.environ.get(variable):
        return variable
    return None


def unknown_provider(model: ModelConfig) -> bool:
    """Whether litellm cannot tell which provider serves `model`: a name with no ``provider/`` prefix
    that it does not know (``"gpt-4o"`` it knows; ``"mistral-large"`` needs ``mistral/``). Every call
    to such a model would fail, each after its agent had started."""
    from agentkit.llm._endpoints import api_base_of
    from agentkit.llm._litellm import direct_name, get_litellm

    # a call that goes straight to its endpoint (openai/... at --api-base or OPENAI_BASE_URL) never asks
    # litellm, and must not import it here either
    if model.model == LOCAL_MODEL or direct_name(model.model, api_base_of(model)) is not None:
        return False
    litellm = get_litellm()
    try:
        litellm.get_llm_provider(model=model.model, api_base=model.api_base)
    except litellm.BadRequestError:
        return True
    except Exception:  # anything else is for the first call to say
        return False
    return False


def check_keys(models: Sequence[ModelConfig]) -> None:
    """Raise ConfigError naming the model and the variable when a model of `models` needs a key that is
    not set, or naming a model no provider is known for (the first such model; each is checked once)."""
    seen: set[str] = set()
    for model in models:
        if model.model in seen:
            continue
        seen.add(model.model)
        if unknown_provider(model):
            raise ConfigError(
                f"{model.model!r} names no provider litellm knows: write it as provider/name (for example "
                "openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, ollama/llama3), or use 'local'"
            )
        names = missing_keys(model)
        if names:
            variable = " or ".join(names)
            raise ConfigError(
                f"{model.model} needs {variable}, which is not set: export {names[0]}=... and run again "
                f"(or choose another model with --model; 'local' needs no key)"
            )
