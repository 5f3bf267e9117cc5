run -q check 0.1.2.3
unchanged
