# A zero-length file (touch) is made a valid empty store by a writer.
fixture none
file-escaped relayers.db
end
run add 192.0.2.7 906502527
post dump
