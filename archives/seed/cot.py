"""name: Chain-of-Thought

Asking the model to write out its reasoning before it commits to an answer lets it spend tokens on the
intermediate steps instead of guessing in one jump, which helps most on arithmetic and multi-step logic.
This is the simplest useful agent: one call with a reasoning field followed by an answer field, and the
baseline every other agent has to beat.
"""


def forward(self, taskInfo):
    instruction = "Work through the task one step at a time, then give your final answer."
    cot_agent = LLMAgentBase(["thinking", "answer"], "Chain-of-Thought Agent")
    _thinking, answer = cot_agent([taskInfo], instruction)
    return answer
