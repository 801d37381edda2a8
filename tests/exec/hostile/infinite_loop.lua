-- Hostile: burns CPU forever.
while true do end
