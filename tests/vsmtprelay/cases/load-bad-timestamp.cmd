file grants.txt
10.1.2.3 906502527
192.0.2.7 -5
end
run load grants.txt
