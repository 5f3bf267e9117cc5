run -q check 10.11.12.13
unchanged
