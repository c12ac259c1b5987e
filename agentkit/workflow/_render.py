"""Spec -> agent code: a workflow becomes an ordinary, readable agent file written against the runtime API.

From there nothing is special about it: the sandbox, the evaluator, the archive, `show`, `export` and
`load_agent` treat it like any agent. Every text that came from the model enters the code through
`repr`, so an instruction can never become code. Archive agents a workflow calls are included whole
(each wrapped in a loader function), so the file runs on its own, also after `export`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentkit.workflow._spec import (
    CallAgent,
    CritiqueRevise,
    Debate,
    Generate,
    Program,
    Route,
    StepBack,
    Verify,
    Vote,
    WorkflowSpec,
    _Step,
)


@dataclass(frozen=True)
class AgentSource:
    """An archive agent a workflow may call."""

    id: str
    """Its id in the archive."""
    name: str
    """Its name, shown to the router's classification call."""
    code: str
    """Its source code."""
    summary: str = ""
    """One line on what it does, shown to the router (its thought's first line)."""


class RenderError(ValueError):
    """A spec names an agent whose source was not given, or a called agent's code does not parse."""


_FIRST = "Think step by step, then give the answer."
_HEAD = (
    "    context = []  # notes later steps read: principles, program output\n"
    "    answers = []  # candidate answers so far\n"
)


def _loader_name(agent_id: str) -> str:
    return "_agent_" + re.sub(r"\W", "_", agent_id)


def _loader(source: AgentSource) -> str:
    """The called agent's whole module wrapped in a function that returns its `forward`."""
    try:
        tree = ast.parse(source.code)
    except SyntaxError as exc:
        raise RenderError(f"agent {source.id} does not parse: {exc}") from exc
    body = [n for n in tree.body if not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # its docstring; the loader's own says which agent this is
    doc = f"Agent {source.id} ({source.name}) of the archive, included whole so this file runs on its own."
    # Built from parsed source rather than ast.FunctionDef(...): the node's fields differ across versions.
    fn = ast.parse(f"def {_loader_name(source.id)}():\n    return forward\n").body[0]
    assert isinstance(fn, ast.FunctionDef)
    fn.body = [ast.Expr(ast.Constant(doc)), *body, *fn.body]
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[])))


_HELPERS = '''
def _run_agent(load, self, taskInfo):
    """An archive agent's answer as text, or None when it failed (a failing member must not sink a vote)."""
    try:
        result = load()(self, taskInfo)
    except LLMCallError:
        raise
    except Exception:
        return None
    return result.content if isinstance(result, Info) else str(result)


def _pick(text, options):
    """The option number named in a router's reply (1-based), or 1 when it names none."""
    for token in re.findall(r"\\d+", str(text)):
        if 1 <= int(token) <= options:
            return int(token)
    return 1
'''


def _ensure_answer(n: int) -> str:
    return (
        "    if not answers:  # nothing to work on yet: one plain answer first\n"
        f"        answers.append(ask([taskInfo] + context, {_FIRST!r}, name={f'step {n} first answer'!r})['answer'])\n"
    )


def _generate(n: int, s: Generate) -> str:
    call = f"ask([taskInfo] + context, {s.instruction!r}, role={s.role!r}, temperature={s.temperature!r}, name={f'step {n} generate'!r})"
    if s.samples == 1:
        return f"    answers.append({call}['answer'])\n"
    return (
        f"    with ThreadPoolExecutor(max_workers={s.samples}) as pool:  # independent samples, in parallel\n"
        f"        answers += list(pool.map(lambda _: {call}['answer'], range({s.samples})))\n"
    )


def _critique(n: int, s: CritiqueRevise) -> str:
    return _ensure_answer(n) + (
        "    current = majority_vote(answers)\n"
        f"    for round_ in range({s.rounds}):\n"
        "        shown = [taskInfo] + context + [Info('answer', 'Current solution', current, round_)]\n"
        "        feedback = ask(shown, 'Check this answer carefully and point out any mistake. '\n"
        "                       'If it is correct, say so.', fields=['feedback'],\n"
        f"                       role={s.critic_role!r}, name={f'step {n} critic'!r})['feedback']\n"
        "        shown.append(Info('feedback', 'Critic', feedback, round_))\n"
        "        current = ask(shown, 'Use the feedback to give a corrected solution.',\n"
        f"                      name={f'step {n} revise'!r})['answer']\n"
        "    answers = [current]\n"
    )


def _debate(n: int, s: Debate) -> str:
    return (
        "    opinions = []\n"
        f"    for round_ in range({s.rounds + 1}):\n"
        "        heard, opinions = opinions, []\n"
        f"        for k in range({s.agents}):\n"
        "            told = ('Solve the task.' if not heard else\n"
        "                    'Solve the task. Weigh the other debaters\\' reasoning; keep or change your answer.')\n"
        "            reply = ask([taskInfo] + context + heard, told, role=f'debater number {k + 1}',\n"
        f"                        temperature=0.8, name=f'step {n} debater {{k + 1}}')\n"
        "            said = reply['thinking'] + '\\nAnswer: ' + reply['answer']\n"
        "            opinions.append(Info('opinion', f'Debater {k + 1}', said, round_))\n"
        "    verdict = ask([taskInfo] + context + opinions, 'Weigh the debaters\\' answers and give the final answer.',\n"
        f"                  role={s.judge_role!r}, temperature=0.0, name={f'step {n} judge'!r})\n"
        "    answers.append(verdict['answer'])\n"
    )


def _step_back(n: int, s: StepBack) -> str:
    return (
        f"    principles = ask([taskInfo] + context, {s.instruction!r}, fields=['principles'],\n"
        f"                     name={f'step {n} step back'!r})['principles']\n"
        "    context.append(Info('principles', 'Step back', principles, -1))\n"
    )


def _program(n: int, s: Program) -> str:
    return (
        f"    code = ask([taskInfo] + context, {s.instruction!r}, fields=['thinking', 'code'],\n"
        f"               name={f'step {n} write program'!r})['code']\n"
        "    output = run_python(code)\n"
        "    shown = [taskInfo] + context + [Info('program', 'Programmer', code, -1),\n"
        "                                    Info('program_output', 'Python', output, -1)]\n"
        "    answers.append(ask(shown, 'A program was run for this task; its output is above (it may be an '\n"
        "                       'error). Give the final answer.', name="
        f"{f'step {n} read output'!r})['answer'])\n"
    )


def _verify(n: int, s: Verify) -> str:
    return _ensure_answer(n) + (
        "    current = majority_vote(answers)\n"
        f"    for attempt in range({s.retries}):\n"
        "        shown = [taskInfo] + context + [Info('answer', 'Proposed solution', current, attempt)]\n"
        "        check = ask(shown, 'Is the proposed answer correct? Give a short reason, then the verdict yes or no.',\n"
        f"                    fields=['reason', 'verdict'], temperature=0.0, name={f'step {n} verify'!r})\n"
        "        if check['verdict'].strip().lower().startswith('yes'):\n"
        "            break\n"
        "        shown.append(Info('reason', 'Verifier', check['reason'], attempt))\n"
        "        current = ask(shown, 'The proposed answer was judged wrong. Solve the task again carefully.',\n"
        f"                      name={f'step {n} retry'!r})['answer']\n"
        "    answers = [current]\n"
    )


def _call(n: int, s: CallAgent) -> str:
    return (
        f"    reply = _run_agent({_loader_name(s.agent_id)}, self, taskInfo)  # archive agent {s.agent_id}\n"
        "    if reply is not None:\n"
        "        answers.append(reply)\n"
    )


def _route(n: int, s: Route, agents: Mapping[str, AgentSource]) -> str:
    menu = "\n".join(
        f"{i}. {agents[a].name}" + (f": {agents[a].summary}" if agents[a].summary else "")
        for i, a in enumerate(s.agent_ids, 1)
    )
    loaders = ", ".join(_loader_name(a) for a in s.agent_ids)
    told = f"Which of these solvers suits this question best?\n{menu}\nGive the number of the solver."
    return (
        f"    choice = ask(taskInfo, {told!r}, fields=['choice'], temperature=0.0,\n"
        f"                 name={f'step {n} route'!r})['choice']\n"
        f"    chosen = ({loaders},)[_pick(choice, {len(s.agent_ids)}) - 1]\n"
        "    reply = _run_agent(chosen, self, taskInfo)\n"
        "    if reply is not None:\n"
        "        answers.append(reply)\n"
    )


def _vote(n: int, s: Vote) -> str:
    return _ensure_answer(n) + "    answers = [majority_vote(answers)]\n"


def _describe(step: _Step) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in step.model_dump().items() if k != "op")
    return f"{step.model_dump()['op']}({params})"


def render_workflow(spec: WorkflowSpec, agents: Mapping[str, AgentSource] | None = None) -> str:
    """The agent source for `spec`. `agents` holds every archive agent the spec calls, by id.

    >>> from agentkit.workflow import Generate, Vote, WorkflowSpec
    >>> code = render_workflow(WorkflowSpec(name="SC", steps=[Generate(samples=3), Vote()]))
    >>> "majority_vote(answers)" in code
    True
    """
    agents = agents or {}
    missing = [a for a in spec.agent_ids() if a not in agents]
    if missing:
        raise RenderError(f"no source given for archive agent(s) {', '.join(missing)}")
    thought = _doc_text(spec.thought.strip())
    name = " ".join(_doc_text(spec.name).split())
    lines = [f'"""name: {name}', "", thought or "A workflow of the operators below.", "", "Workflow:"]
    lines += [f"  {i}. {_doc_text(_describe(step))}" for i, step in enumerate(spec.steps, 1)]
    parts = ["\n".join(lines) + '\n"""\n']
    imports = ["import re"] if spec.agent_ids() else []
    if any(isinstance(s, Generate) and s.samples > 1 for s in spec.steps):
        imports.append("from concurrent.futures import ThreadPoolExecutor")
    if imports:
        parts.append("\n".join(imports) + "\n")
    for agent_id in spec.agent_ids():
        parts.append("\n" + _loader(agents[agent_id]) + "\n")
    if spec.agent_ids():
        parts.append(_HELPERS)
    body = [_HEAD]
    for n, step in enumerate(spec.steps, 1):
        body.append(f"\n    # step {n}: {_describe(step)}\n")
        if isinstance(step, Route):
            body.append(_route(n, step, agents))
        else:
            body.append(_RENDERERS[type(step)](n, step))
    body.append(
        "\n    if not answers:  # only notes so far: answer with them\n"
        f"        answers.append(ask([taskInfo] + context, {_FIRST!r}, name='final answer')['answer'])\n"
        "    return majority_vote(answers)\n"
    )
    parts.append("\n\ndef forward(self, taskInfo):\n" + "".join(body))
    return "\n".join(parts)


_RENDERERS: dict[type[_Step], Callable[[int, Any], str]] = {
    Generate: _generate,
    Vote: _vote,
    CritiqueRevise: _critique,
    Debate: _debate,
    StepBack: _step_back,
    Program: _program,
    Verify: _verify,
    CallAgent: _call,
}


def _doc_text(text: str) -> str:
    """Text that can stand inside the file's triple-quoted docstring."""
    return text.replace("\\", "/").replace('"' * 3, "'" * 3)
