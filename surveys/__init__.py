"""Survey domain without Flask: instruments, rater assignment design, anonymity rules, form building
from an instrument, and resident-link tokens."""
