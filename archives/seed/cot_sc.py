"""name: Self-Consistency with Chain-of-Thought

A single chain of reasoning can go wrong at any step, but independent chains rarely make the same mistake.
Sampling several step-by-step solutions at a higher temperature and taking the most common final answer
turns this into a vote that cancels out many one-off slips. The five samples are independent, so they are
requested in parallel.
"""

from concurrent.futures import ThreadPoolExecutor


def forward(self, taskInfo):
    samples = 5
    instruction = "Reason step by step, then state your final answer."

    def solve_once(_):
        reply = ask(taskInfo, instruction, temperature=0.8, name="Self-Consistency Sampler")
        return reply["answer"]

    with ThreadPoolExecutor(max_workers=samples) as pool:
        answers = list(pool.map(solve_once, range(samples)))
    return majority_vote(answers)
