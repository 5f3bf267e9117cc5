run load
