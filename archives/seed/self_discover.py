"""name: Self-Discover

Instead of one fixed reasoning style, the agent composes a reasoning structure for the task at hand. From a
small library of general reasoning modules it selects the few that fit, adapts them into a concrete plan of
steps for this task, and finally follows that plan to reach the answer. Planning and solving are separate
calls, so the plan is made before the model is tempted to guess.
"""


def forward(self, taskInfo):
    modules = [
        "Break the problem into smaller sub-problems and solve them in order.",
        "Work backwards from what the question asks for.",
        "Write down the known quantities and the unknown, then relate them with equations.",
        "Track the changing state (positions, counts, truth values) step by step in a table.",
        "Find a simpler, similar problem and reuse its method.",
        "List the assumptions being made and question each one.",
        "Try to find a counterexample to a tentative answer.",
        "Verify the result independently, for example by substituting it back.",
        "Read the wording closely: negations, units, 'at least', 'except', 'not'.",
        "Enumerate the options systematically and eliminate the impossible ones.",
    ]
    library = "\n".join(f"{i + 1}. {m}" for i, m in enumerate(modules))

    selected = ask(
        taskInfo,
        f"Reasoning modules:\n{library}\n\nSelect the two to four modules that would help most with this task.",
        fields={"selected": "The chosen modules, copied as written, one per line."},
        temperature=0.2,
        name="Module Selector",
    )["selected"]
    plan = ask(
        taskInfo,
        f"Selected reasoning modules:\n{selected}\n\nAdapt each module to this specific task and combine them "
        "into a short numbered plan of reasoning steps. Do not solve the task.",
        fields={"plan": "A numbered plan of reasoning steps tailored to this task."},
        temperature=0.2,
        name="Plan Builder",
    )["plan"]
    solution = ask(
        taskInfo,
        f"Follow this plan step by step, writing down the result of each step, then give the final answer.\n\n"
        f"Plan:\n{plan}",
        name="Plan Follower",
    )
    return solution["answer"]
