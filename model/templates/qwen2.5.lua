-- qwen2.5.lua — Qwen2.5-Instruct's chat template (its tokenizer_config.json)
-- without tools: ChatML with a default system prompt when the conversation
-- has none, and "tool" messages folded into one user turn of
-- <tool_response> blocks. Roles other than system, user, assistant and tool
-- are left out, as the original does. Checked against transformers'
-- rendering of the real template (tests/tokenizer/test_chat.c).
local DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

return function(messages, add_generation_prompt)
  local out = {}
  local function put(s) out[#out + 1] = s end
  if messages[1] and messages[1].role == "system" then
    put("<|im_start|>system\n" .. messages[1].content .. "<|im_end|>\n")
  else
    put("<|im_start|>system\n" .. DEFAULT_SYSTEM .. "<|im_end|>\n")
  end
  local n = #messages
  for i, m in ipairs(messages) do
    if m.role == "user" or (m.role == "system" and i ~= 1) or m.role == "assistant" then
      put("<|im_start|>" .. m.role .. "\n" .. m.content .. "<|im_end|>\n")
    elseif m.role == "tool" then
      if i == 1 or messages[i - 1].role ~= "tool" then put("<|im_start|>user") end
      put("\n<tool_response>\n" .. m.content .. "\n</tool_response>")
      if i == n or messages[i + 1].role ~= "tool" then put("<|im_end|>\n") end
    end
  end
  if add_generation_prompt then put("<|im_start|>assistant\n") end
  return table.concat(out)
end
