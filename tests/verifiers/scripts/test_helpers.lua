-- test_helpers.lua — uses the test-only functions that the host tests add to
-- the rlvr table (open_extra): crash the worker, sleep in C, allocate in C.
return {
  name = "test_helpers", version = 1,
  verify = function(completion)
    local cmd, arg = completion:match("^(%a+)%s*(%d*)")
    if cmd == "crash" then rlvr.test_crash() end
    if cmd == "sleep" then rlvr.test_sleep(tonumber(arg)) end
    if cmd == "malloc" then return 0, { malloc = rlvr.test_malloc(tonumber(arg)) } end
    if cmd == "pid" then return 0, { pid = rlvr.test_pid() } end
    return completion == "one" and 1 or 0, {}
  end,
}
