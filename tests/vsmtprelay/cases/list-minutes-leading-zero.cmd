run list 00
