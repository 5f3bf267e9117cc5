argv -V
