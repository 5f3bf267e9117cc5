run expire 1 2
