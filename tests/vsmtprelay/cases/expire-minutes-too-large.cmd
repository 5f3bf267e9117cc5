run expire 4223371680
