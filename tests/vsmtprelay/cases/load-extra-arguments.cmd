run load a b
