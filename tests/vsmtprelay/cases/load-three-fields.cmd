file grants.txt
192.0.2.7 906502527 alice
end
run load grants.txt
