argv -x dump
