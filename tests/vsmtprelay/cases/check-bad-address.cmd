run check 256.1.1.1
