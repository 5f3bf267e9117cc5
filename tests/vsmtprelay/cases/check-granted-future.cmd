# A future stamp is a permanent grant.
run check 198.51.100.25
unchanged
sub ', \d+s in the future;' ', Ns in the future;'
