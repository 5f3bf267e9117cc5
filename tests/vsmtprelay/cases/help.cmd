# -h: the usage text on stdout, exit 0, whatever follows.
argv -h dump
