"""name: Program-of-Thought

Language models are unreliable at exact arithmetic but good at writing short programs. The model writes a
Python program that computes the answer, the runtime executes it, and if it fails the model gets one chance
to fix it using the error message. A last call turns the program's result into an answer in the task's
required format, solving the task directly if the program never worked.
"""


def forward(self, taskInfo):
    code_fields = {
        "thinking": "How the program will compute the answer.",
        "code": (
            "A complete Python program, standard library only, that computes the result and stores it in a "
            "variable named answer. No input() and no files."
        ),
    }
    reply = ask(
        taskInfo,
        "Write a Python program that solves the task.",
        fields=code_fields,
        temperature=0.2,
        name="Program Writer",
    )
    result = run_python(reply["code"])

    if result.startswith("Error:"):
        fix_prompt = (
            f"Task:\n{taskInfo.content}\n\nYour program:\n{reply['code']}\n\nRunning it gave:\n{result}"
        )
        reply = ask(fix_prompt, "Fix the program.", fields=code_fields, temperature=0.2, name="Program Fixer")
        result = run_python(reply["code"])

    final_prompt = f"Task:\n{taskInfo.content}\n\nA program written for this task produced:\n{result}"
    final = ask(
        final_prompt,
        "Give the final answer to the task based on the program's result. If the program failed or its "
        "result is clearly wrong, solve the task yourself step by step.",
        temperature=0.0,
        name="Answer Writer",
    )
    return final["answer"]
