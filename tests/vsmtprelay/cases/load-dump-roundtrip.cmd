# What dump prints, load reads back to the same store contents.
sh "$VSMTPRELAY" -c setup.conf -f "$STORE" dump > saved.txt
setup add 203.0.113.9 5
setup delete 10.11.12.13
run load saved.txt
post dump
