"""The admin API's routes, one module per kind of object, as the service layer's modules."""
