run list 1h
