-- chat.lua — for instruction-tuned models: the prompt becomes the user's
-- message inside the model's own chat template (model/chat.h; chat = true
-- tells the caller to apply it), with the same <think>/<answer> convention
-- as r1 asked for in words.
return {
  name = "chat",
  chat = true,
  prompt = "{prompt}\n\nThink it through inside <think> </think> tags, then give the final answer inside "
    .. "<answer> </answer> tags.",
  completion = "<think> {solution} </think> <answer> {answer} </answer>",
}
