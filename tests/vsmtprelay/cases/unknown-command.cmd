run frob 10.11.12.13
