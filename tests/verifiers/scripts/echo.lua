-- echo.lua — reports what it was given, for tests of how inputs arrive.
return {
  name = "echo", version = "e1",
  verify = function(completion, reference, meta)
    local d = {
      completion_len = #completion,
      head = completion:sub(1, 32),
      reference_type = type(reference),
      reference = reference,
      meta = meta,
      random = math.random(1000000),
    }
    return 0.25, d
  end,
}
