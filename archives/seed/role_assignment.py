"""name: Dynamic Role Assignment

Different tasks call for different expertise, and a model told who it is tends to reason in that frame. A
routing agent first reads the task and picks the most suitable expert from a small roster; the task then goes
to an agent playing that expert. Anything the router says that matches no expert falls back to a generalist.
"""


def forward(self, taskInfo):
    experts = {
        "Mathematician": "mathematician who double-checks every calculation",
        "Logician": "logician who tracks rules, orderings and truth values step by step",
        "Linguist": "careful reader who pays close attention to the exact meaning of words",
        "Generalist": "knowledgeable generalist",
    }
    route_instruction = (
        "Which expert is best suited to this task? Reply in choice with exactly one of: "
        + ", ".join(experts)
        + "."
    )
    router = LLMAgentBase(["choice"], "Routing Agent", temperature=0.1)
    (choice,) = router([taskInfo], route_instruction)

    picked = "Generalist"
    for name in experts:
        if name.lower() in choice.content.lower():
            picked = name
            break

    expert = LLMAgentBase(["thinking", "answer"], picked + " Agent", role=experts[picked])
    _thinking, answer = expert([taskInfo], "Think step by step and solve the task.")
    return answer
