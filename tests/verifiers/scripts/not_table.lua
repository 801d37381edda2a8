-- not_table.lua — returns a number instead of the verifier table.
return 42
