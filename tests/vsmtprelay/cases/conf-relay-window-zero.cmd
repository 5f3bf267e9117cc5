conf relay_window = 0m
run check 10.11.12.13
