"""Settings of reflection, the rule manual, contrastive pairs and the exploration monitor:
`ReflectConfig`, the ``reflect`` section of a search run's configuration (``SearchConfig.reflect``), so
that a resumed run continues with the same settings and every component is one switch away from an
ablation.

The type is defined by the search (`agentkit.search.ReflectConfig`), which stores it with the run and
must not import this package; it is re-exported here, where it is read.
"""

from __future__ import annotations

from agentkit.search import ReflectConfig

__all__ = ["ReflectConfig"]
