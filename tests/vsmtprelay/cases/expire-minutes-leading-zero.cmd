run expire 060
