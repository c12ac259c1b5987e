"""name: Quality-Diversity

Sampling the same reasoning several times tends to repeat the same idea, and with it the same mistake. Here
each new attempt sees the earlier ones and must take a clearly different route (another method, a different
decomposition, another point of view). A final low-temperature agent compares the diverse solutions, checks
them, and picks or combines the best supported answer.
"""


def forward(self, taskInfo):
    attempts = 3
    first_instruction = "Think step by step and solve the task."
    diverse_instruction = (
        "Above are earlier solutions. Solve the task again by a clearly different approach: another method, "
        "decomposition or point of view. Do not repeat their reasoning."
    )
    select_instruction = (
        "Compare the solutions above, check each for errors, and give the answer that is best supported, "
        "combining their insights where that helps."
    )
    solver = LLMAgentBase(["thinking", "answer"], "Diverse Solver", temperature=0.9)
    selector = LLMAgentBase(["thinking", "answer"], "Selection Agent", temperature=0.1)

    thinking, answer = solver([taskInfo], first_instruction, 0)
    candidates = [thinking, answer]
    for i in range(1, attempts):
        thinking, answer = solver([taskInfo, *candidates], diverse_instruction, i)
        candidates = [*candidates, thinking, answer]

    thinking, answer = selector([taskInfo, *candidates], select_instruction)
    return answer
