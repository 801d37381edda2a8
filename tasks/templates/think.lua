-- think.lua — the plain template with the solution inside <think> tags: the
-- prompt and a newline, then "<think>", the worked solution, "</think>" and
-- the answer in <answer> tags. For small models trained from scratch (short,
-- like plain) that should mark where their thinking ends, so that s1 budget
-- forcing (budget.think_end = "</think>") can cap it or make it go on.
return {
  name = "think",
  prompt = "{prompt}\n<think>",
  completion = "{solution}</think>\n<answer>{answer}</answer>",
}
