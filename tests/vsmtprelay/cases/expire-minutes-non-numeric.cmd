run expire 12ab
