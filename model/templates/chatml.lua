-- chatml.lua — ChatML: each message as <|im_start|>role\ncontent<|im_end|>\n,
-- and <|im_start|>assistant\n to open the model's turn. No default system
-- prompt, no special handling of any role. Checked against the Jinja ChatML
-- template in tests/ref/make_tokenizer_fixtures.py (transformers'
-- apply_chat_template). For Qwen2.5's and Qwen3's own templates see
-- qwen2.5.lua and qwen3.lua.
--
-- A template is a file that returns function(messages, add_generation_prompt)
-- -> string, with messages an array of {role = ..., content = ...}.
return function(messages, add_generation_prompt)
  local out = {}
  for _, m in ipairs(messages) do
    out[#out + 1] = "<|im_start|>" .. m.role .. "\n" .. m.content .. "<|im_end|>\n"
  end
  if add_generation_prompt then
    out[#out + 1] = "<|im_start|>assistant\n"
  end
  return table.concat(out)
end
