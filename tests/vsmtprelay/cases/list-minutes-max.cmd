run list 4223371679
unchanged
