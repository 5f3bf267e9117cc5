file grants.txt
10.1.2.3 906502527
10.1.2.4
end
stdin grants.txt
run load -
