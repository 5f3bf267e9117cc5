run check a b
