"""name: LLM Debate

Two agents with different temperaments solve the task independently, then each reads the other's latest
solution and defends or revises its own. Disagreement forces both to justify their steps, which exposes
errors that a single agent would keep. After two rounds a low-temperature judge reads the whole transcript
and gives the final answer.
"""


def forward(self, taskInfo):
    rounds = 2
    roles = ["careful analyst who checks every step", "sceptical reviewer who looks for hidden mistakes"]
    opening_instruction = "Think step by step and solve the task."
    debate_instruction = (
        "Above are the latest solutions from the debate. Weigh the other side's arguments against your own, "
        "point out any errors, and give your updated solution."
    )
    judge_instruction = (
        "Read the whole debate above, decide which answer is best supported by correct reasoning, and give "
        "the final answer."
    )
    debaters = [
        LLMAgentBase(["thinking", "answer"], "Debate Agent", role=role, temperature=0.8) for role in roles
    ]
    judge = LLMAgentBase(["thinking", "answer"], "Judge Agent", temperature=0.1)

    transcript = []
    latest = []
    for r in range(rounds):
        this_round = []
        for debater in debaters:
            if r == 0:
                thinking, answer = debater([taskInfo], opening_instruction, r)
            else:
                thinking, answer = debater([taskInfo, *latest], debate_instruction, r)
            this_round = [*this_round, thinking, answer]
        latest = this_round
        transcript = transcript + this_round

    thinking, answer = judge([taskInfo, *transcript], judge_instruction)
    return answer
