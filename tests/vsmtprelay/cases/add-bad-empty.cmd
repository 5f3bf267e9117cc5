run add ""
