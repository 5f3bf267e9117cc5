# -q silences the verdict, not errors.
run -q check 1.2.3
