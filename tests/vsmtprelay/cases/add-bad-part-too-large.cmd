run add 256.1.1.1
