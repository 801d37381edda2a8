-- load_loop.lua — loops while loading, before returning its table.
while true do end
