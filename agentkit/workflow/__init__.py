"""Workflow proposals: agents as typed compositions of operators instead of free code.

A small or cheap meta model rarely writes correct Python; it can fill in a typed spec (`WorkflowSpec`:
generate, vote, critique_revise, debate, step_back, program, verify, call_agent, route). The renderer
turns a spec into an ordinary agent file against the runtime API, so everything downstream (sandbox,
evaluation, archive, export, `load_agent`) is unchanged.

```python
from agentkit.workflow import Generate, Vote, WorkflowSpec, render_workflow

spec = WorkflowSpec(name="Self-consistency", steps=[Generate(samples=5, temperature=0.8), Vote()])
code = render_workflow(spec)            # an agent file defining forward(self, taskInfo)
```

Public names:
    WorkflowSpec and the operator models; OPERATORS: name -> model
    parse_workflow, workflow_problems, WorkflowProblem: reading and checking a proposal
    render_workflow, AgentSource, RenderError: spec -> code
    workflow_schema, offered_operators: the spec as a JSON schema for grammar-constrained replies
    model_calls: the most model calls a spec can make per question
"""

from __future__ import annotations

from agentkit.workflow._check import MAX_MODEL_CALLS, WorkflowProblem, parse_workflow, workflow_problems
from agentkit.workflow._render import AgentSource, RenderError, render_workflow
from agentkit.workflow._schema import FOCUS_OPERATORS, offered_operators, workflow_schema
from agentkit.workflow._spec import (
    MAX_STEPS,
    OPERATORS,
    STEP_TYPES,
    CallAgent,
    CritiqueRevise,
    Debate,
    Generate,
    Program,
    Route,
    Step,
    StepBack,
    Verify,
    Vote,
    WorkflowSpec,
    model_calls,
)

__all__ = [
    "FOCUS_OPERATORS",
    "MAX_MODEL_CALLS",
    "MAX_STEPS",
    "OPERATORS",
    "STEP_TYPES",
    "AgentSource",
    "CallAgent",
    "CritiqueRevise",
    "Debate",
    "Generate",
    "Program",
    "RenderError",
    "Route",
    "Step",
    "StepBack",
    "Verify",
    "Vote",
    "WorkflowProblem",
    "WorkflowSpec",
    "model_calls",
    "offered_operators",
    "parse_workflow",
    "render_workflow",
    "workflow_problems",
    "workflow_schema",
]
