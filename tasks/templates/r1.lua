-- r1.lua — the DeepSeek-R1-Zero template (see r1_zero.lua for its source)
-- with " <think>" written after "Assistant:", as most R1-Zero reproductions
-- do, so that every completion starts inside the reasoning block and the
-- format reward does not have to teach the model to open it.
return {
  name = "r1",
  prompt = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    .. "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    .. "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    .. "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
    .. "User: {prompt}. Assistant: <think>",
  completion = " {solution} </think> <answer> {answer} </answer>",
}
