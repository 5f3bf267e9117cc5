# All addresses are checked first: one bad one, nothing is deleted.
run delete 10.11.12.13 1.2.3 192.0.2.99
