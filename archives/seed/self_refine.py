"""name: Self-Refine

Models often spot errors in a finished solution that they did not notice while writing it. After a first
step-by-step attempt, a critic reviews it and says whether it is right; if not, the solver gets the whole
history with the feedback and tries again. The loop stops as soon as the critic is satisfied, after at most
two rounds of critique and revision.
"""


def forward(self, taskInfo):
    max_rounds = 2
    solve_instruction = "Think step by step and solve the task."
    critic_instruction = (
        "Review the latest attempt above. Check each reasoning step and the final result, and describe any "
        "mistake you find in feedback. In correct, write True only if you are confident the answer is "
        "right, otherwise write False."
    )
    refine_instruction = (
        "Using the feedback above, correct the attempt. Think step by step and give an improved answer."
    )
    solver = LLMAgentBase(["thinking", "answer"], "Solver Agent")
    critic = LLMAgentBase(["feedback", "correct"], "Critic Agent", temperature=0.2)

    thinking, answer = solver([taskInfo], solve_instruction, 0)
    history = [taskInfo]
    for i in range(max_rounds):
        feedback, correct = critic([taskInfo, thinking, answer], critic_instruction, i)
        if correct.content.strip().lower().startswith("true"):
            break
        history = [*history, thinking, answer, feedback]
        thinking, answer = solver(history, refine_instruction, i + 1)
    return answer
