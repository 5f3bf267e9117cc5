run list 1 2
