"""name: Step-Back Abstraction

Jumping straight into the details of a problem invites mistakes that knowing the general rule would prevent.
The agent first steps back and names the concepts, formulas or methods that this kind of task relies on,
without solving it, and then solves the task with those principles in view.
"""


def forward(self, taskInfo):
    principle_instruction = (
        "Do not solve the task yet. Step back and name the general concepts, rules or methods that a task "
        "like this depends on, each with a one-line explanation."
    )
    solve_instruction = "Using the principles above, solve the task step by step."
    principle_agent = LLMAgentBase(["principles"], "Principle Agent")
    solver = LLMAgentBase(["thinking", "answer"], "Step-Back Solver")

    (principles,) = principle_agent([taskInfo], principle_instruction)
    _thinking, answer = solver([taskInfo, principles], solve_instruction)
    return answer
