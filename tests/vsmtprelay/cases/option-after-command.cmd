# An option after the command (getopt stops at the command) is named as
# such, not read as a negative number or an address; the store is
# untouched.
run list -f other.db
