run add 2001:DB8::AB:CDEF 906502527
post dump
