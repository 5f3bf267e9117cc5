# Every entry but the future-stamped ones.
run list
unchanged
