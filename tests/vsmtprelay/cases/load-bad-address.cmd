file grants.txt
10.1.2.3 906502527
1.2.3 906502527
end
run load grants.txt
