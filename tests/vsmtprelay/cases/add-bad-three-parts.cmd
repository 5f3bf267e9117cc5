run add 1.2.3
