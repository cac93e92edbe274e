# -*- coding: latin-1 -*-
"""Legacy price formatter kept from the 2012 shop (café edition)."""

# Prices were stored in cents; the old café till printed them with a comma.


def format_price(cents):
    euros, rest = divmod(int(cents), 100)
    return "%d,%02d EUR" % (euros, rest)
