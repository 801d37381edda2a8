-- plain.lua — the prompt as it is and a newline: no instructions, for small
-- models trained from scratch whose every token counts. Worked examples end
-- with the answer in <answer> tags, the form the verifiers read.
return {
  name = "plain",
  prompt = "{prompt}\n",
  completion = "{solution}\n<answer>{answer}</answer>",
}
