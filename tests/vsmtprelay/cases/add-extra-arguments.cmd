run add a b c
