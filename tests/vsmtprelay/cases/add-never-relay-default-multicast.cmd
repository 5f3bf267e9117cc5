run add ::ffff:224.0.0.1 906502527
