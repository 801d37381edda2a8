-- plain.lua — a template for models without chat tokens (base models, the
-- tiny test models): each message as "Role: content" followed by a blank
-- line, and "Assistant:" to open the model's turn, so the model continues
-- with " answer". Roles are capitalised ("user" -> "User").
return function(messages, add_generation_prompt)
  local out = {}
  for _, m in ipairs(messages) do
    local role = m.role:sub(1, 1):upper() .. m.role:sub(2)
    out[#out + 1] = role .. ": " .. m.content .. "\n\n"
  end
  if add_generation_prompt then
    out[#out + 1] = "Assistant:"
  end
  return table.concat(out)
end
