run expire -5
