run load missing.txt
