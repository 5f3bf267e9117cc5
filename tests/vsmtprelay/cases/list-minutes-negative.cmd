run list -5
