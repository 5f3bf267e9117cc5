file grants.txt
192.0.2.7 253402300800
end
run load grants.txt
