"""agentkit's performance benchmarks: `make bench` or ``python -m benchmarks.perf [--quick]``.

Every scenario runs against the fake OpenAI server (a separate process, real HTTP on loopback) playing
a simulated model, prints its figure, target and verdict, and the run writes
``benchmarks/results/latest.json`` and ``latest.md``. The scenarios are those of issue 7:

1. evaluation throughput against the limit (calls x latency / concurrency), one- and five-call agents
2. agentkit against DSPy on the same workload
3. sandbox overhead per example over in-process runs (and cold start)
4. agent calls of a scripted search with cascade and cache, versus the full split without cache
5. meta prompt size with 10, 50 and 200 agents in the archive
6. start-up: `agentkit --help` and `import agentkit`
7. peak RSS of the host during a search growing to 200 agents
8. scale: scenario 1 at several concurrency levels, and where throughput stops growing

The entry point is `benchmarks.perf._runner.run_benchmarks`; this package imports nothing itself, so
the helper processes it starts (``python -m benchmarks.perf._server`` and ``._search``) load only what
they use.
"""
