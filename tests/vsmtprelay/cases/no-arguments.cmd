# No command at all: the usage text on stderr, EX_USAGE.
argv
