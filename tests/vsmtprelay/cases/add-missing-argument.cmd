run add
