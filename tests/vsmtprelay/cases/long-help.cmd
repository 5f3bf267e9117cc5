# --help is accepted like -h: usage on standard output, exit 0.
argv --help
