run add foo
