# getopt() sees "--bogus" as the option "-"; the message must name what
# the user typed, not "unknown option --".
argv --bogus
