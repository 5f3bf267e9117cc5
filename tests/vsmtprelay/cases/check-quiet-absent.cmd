run -q check 203.0.113.1
unchanged
