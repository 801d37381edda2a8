-- qwen3.lua — Qwen3's chat template (its tokenizer_config.json) without tools
-- and without the enable_thinking switch: ChatML, no default system prompt;
-- an assistant message "<think>\nR\n</think>\n\nA" keeps its reasoning R only
-- when it comes after the last real user query (the others keep just A), and
-- the final assistant message always gets a (possibly empty) think block.
-- "tool" messages become <tool_response> blocks in a user turn. Checked
-- against transformers' rendering of the real template.

local function starts(s, p) return s:sub(1, #p) == p end
local function ends(s, p) return #p == 0 or s:sub(-#p) == p end
local function lstrip_nl(s) return (s:gsub("^\n+", "")) end
local function rstrip_nl(s) return (s:gsub("\n+$", "")) end

-- Python's s.split(sep): every piece, in order (sep is plain text).
local function split(s, sep)
  local parts, from = {}, 1
  while true do
    local a, b = s:find(sep, from, true)
    if not a then break end
    parts[#parts + 1] = s:sub(from, a - 1)
    from = b + 1
  end
  parts[#parts + 1] = s:sub(from)
  return parts
end

return function(messages, add_generation_prompt)
  local out = {}
  local function put(s) out[#out + 1] = s end
  local n = #messages
  if n > 0 and messages[1].role == "system" then
    put("<|im_start|>system\n" .. messages[1].content .. "<|im_end|>\n")
  end
  -- The last user message that is not a wrapped tool response (1-based).
  local last_query = n
  for i = n, 1, -1 do
    local m = messages[i]
    if m.role == "user" and not (starts(m.content, "<tool_response>") and ends(m.content, "</tool_response>")) then
      last_query = i
      break
    end
  end
  for i, m in ipairs(messages) do
    if m.role == "user" or (m.role == "system" and i ~= 1) then
      put("<|im_start|>" .. m.role .. "\n" .. m.content .. "<|im_end|>\n")
    elseif m.role == "assistant" then
      local content, reasoning = m.content, ""
      if content:find("</think>", 1, true) then
        local parts = split(content, "</think>")
        content = lstrip_nl(parts[#parts])
        local before = split(rstrip_nl(parts[1]), "<think>")
        reasoning = lstrip_nl(before[#before])
      end
      if i > last_query and (i == n or reasoning ~= "") then
        put("<|im_start|>assistant\n<think>\n" .. lstrip_nl(rstrip_nl(reasoning)) ..
            "\n</think>\n\n" .. lstrip_nl(content))
      else
        put("<|im_start|>assistant\n" .. content)
      end
      put("<|im_end|>\n")
    elseif m.role == "tool" then
      if i == 1 or messages[i - 1].role ~= "tool" then put("<|im_start|>user") end
      put("\n<tool_response>\n" .. m.content .. "\n</tool_response>")
      if i == n or messages[i + 1].role ~= "tool" then put("<|im_end|>\n") end
    end
  end
  if add_generation_prompt then put("<|im_start|>assistant\n") end
  return table.concat(out)
end
