run delete
