run check
