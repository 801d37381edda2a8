-- r1_zero.lua — the DeepSeek-R1-Zero training template, word for word as in
-- Table 1 of the DeepSeek-R1 paper (arXiv:2501.12948), "prompt" replaced by
-- the task's prompt. It ends at "Assistant:", so the model must open
-- <think> itself; r1.lua is the same text with " <think>" already written.
return {
  name = "r1_zero",
  prompt = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    .. "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    .. "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    .. "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
    .. "User: {prompt}. Assistant:",
  completion = " <think> {solution} </think> <answer> {answer} </answer>",
}
