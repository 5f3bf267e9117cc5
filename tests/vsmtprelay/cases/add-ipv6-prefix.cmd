# sendmail's "IPv6:" prefix is accepted and not stored.
run add IPv6:2001:db8::7 906502527
post dump
