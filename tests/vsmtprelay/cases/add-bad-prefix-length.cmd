run add 10.0.0.0/8
