run expire ""
