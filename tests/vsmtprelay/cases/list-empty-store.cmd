# A missing store is created empty, then listed.
fixture none
run list
post dump
