"""kratom-tracker: watch public sources on kratom and 7-OH law per jurisdiction."""

__version__ = "0.1.0"
