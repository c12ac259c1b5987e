"""The LLM client: every model call in agentkit goes through `LLMClient`.

```python
from agentkit.llm import LLMClient, Budget, resolve_model

client = LLMClient(budget=Budget(max_cost_usd=2.0))
model = resolve_model("openai/gpt-4o-mini", temperature=0.2)   # or None / "local"
reply = await client.complete([{"role": "user", "content": "2+2?"}], model, role="agent")
parsed = await client.complete_fields(messages, model, ["thinking", "answer"])
print(parsed.fields["answer"], client.usage().total.cost_usd)
```

litellm is imported only when a call needs it, never here (it takes seconds), and never for the
embedded model or a self-hosted server's model; `prepare_models(models)` starts the import in the
background as soon as a program knows it will call a hosted provider. `check_keys(models)` stops a
command before it runs when a model's provider needs a key that is not set.
"""

from __future__ import annotations

from agentkit.errors import BudgetExceeded, LLMError, ProviderAuthError, ProviderError, StructuredOutputError
from agentkit.llm._breaker import ModelPause, PauseListener
from agentkit.llm._cache import CachedReply, ReplyCache
from agentkit.llm._client import CallListener, LLMClient, as_model_config
from agentkit.llm._config import DEFAULT_MAX_INFLIGHT, LOCAL_MODEL, ModelConfig, inflight_limit, resolve_model
from agentkit.llm._endpoints import endpoint_settings, prepare_models
from agentkit.llm._keys import check_keys
from agentkit.llm._preflight import check_endpoints, check_models
from agentkit.llm._prices import check_budget, set_price, unset_price
from agentkit.llm._results import Completion, StructuredCompletion
from agentkit.llm._shared import BudgetGate, ReplyStore
from agentkit.llm._structured import parse_fields
from agentkit.llm._usage import Budget, CallRecord, Ledger, Reservation, UsageReport, UsageStats

__all__ = [
    "DEFAULT_MAX_INFLIGHT",
    "LOCAL_MODEL",
    "Budget",
    "BudgetExceeded",
    "BudgetGate",
    "CachedReply",
    "CallListener",
    "CallRecord",
    "Completion",
    "LLMClient",
    "LLMError",
    "Ledger",
    "ModelConfig",
    "ModelPause",
    "PauseListener",
    "ProviderAuthError",
    "ProviderError",
    "ReplyCache",
    "ReplyStore",
    "Reservation",
    "StructuredCompletion",
    "StructuredOutputError",
    "UsageReport",
    "UsageStats",
    "as_model_config",
    "check_budget",
    "check_endpoints",
    "check_keys",
    "check_models",
    "endpoint_settings",
    "inflight_limit",
    "parse_fields",
    "prepare_models",
    "resolve_model",
    "set_price",
    "unset_price",
]
