-- no_verify.lua — a table without the verify function.
return { name = "no_verify", version = "1" }
