# One form of each is enough; both keys are written in canonical form.
file grants.txt
2001:DB8::A 906502527
IPv6:2001:0:0:1:0:0:0:1 906502527
2001:db8:0:1:1:1:1:1 906502527
::ffff:192.0.2.7 906502527
end
run load grants.txt
post dump
