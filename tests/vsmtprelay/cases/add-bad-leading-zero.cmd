run add 010.1.1.1
