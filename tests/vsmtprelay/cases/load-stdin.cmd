file grants.txt
10.1.2.3 906502527
2001:db8::7 1000000000
end
stdin grants.txt
run load -
post dump
