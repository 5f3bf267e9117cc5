# Two keys: the RFC 5952 form and the full form of sendmail's ${client_addr}.
run add 2001:db8::7 906502527
post dump
