run dump x
