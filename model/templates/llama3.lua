-- llama3.lua — Meta-Llama-3-Instruct's chat template: <|begin_of_text|>, then
-- per message <|start_header_id|>role<|end_header_id|>\n\n, the content
-- stripped of surrounding whitespace (Jinja's trim, i.e. Python's
-- str.strip()), <|eot_id|>. The template writes the BOS token itself, so
-- encode its output with add_special off (as transformers does). Checked
-- against transformers' rendering of the original template.

-- Python's str.isspace() characters, as UTF-8.
local SPACES = {
  "\t", "\n", "\v", "\f", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ",
  "\u{85}", "\u{a0}", "\u{1680}", "\u{2000}", "\u{2001}", "\u{2002}", "\u{2003}", "\u{2004}",
  "\u{2005}", "\u{2006}", "\u{2007}", "\u{2008}", "\u{2009}", "\u{200a}", "\u{2028}", "\u{2029}",
  "\u{202f}", "\u{205f}", "\u{3000}",
}

local function trim(s)
  local changed = true
  while changed do
    changed = false
    for _, sp in ipairs(SPACES) do
      if #s >= #sp and s:sub(1, #sp) == sp then s = s:sub(#sp + 1); changed = true end
      if #s >= #sp and s:sub(-#sp) == sp then s = s:sub(1, -#sp - 1); changed = true end
    end
  end
  return s
end

return function(messages, add_generation_prompt)
  local out = {}
  for i, m in ipairs(messages) do
    local text = "<|start_header_id|>" .. m.role .. "<|end_header_id|>\n\n" .. trim(m.content) .. "<|eot_id|>"
    if i == 1 then text = "<|begin_of_text|>" .. text end
    out[#out + 1] = text
  end
  if add_generation_prompt then
    out[#out + 1] = "<|start_header_id|>assistant<|end_header_id|>\n\n"
  end
  return table.concat(out)
end
