file grants.txt
2001:db8::7 906502527
2001:db8:0:0:0:0:0:7 906502528
end
run load grants.txt
