fixture none
file-escaped relayers.db
end
run dump
