-- syntax_error.lua — does not compile.
return { name = "syntax_error", version = 1, verify = function(c) return 1 end
