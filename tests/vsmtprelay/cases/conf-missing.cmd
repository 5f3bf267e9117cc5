# A file named with -c must exist (the default one may be absent).
argv -c $DIR/missing.conf -f $STORE dump
