"""Public checking tools for minigrad and plugin authors: gradcheck and hypothesis strategies.

`minigrad.testing.strategies` imports hypothesis; import it explicitly when you need it.
"""
from minigrad.testing.checks import CheckReport, check_layer, check_op
from minigrad.testing.gradcheck import GradcheckReport, gradcheck

__all__ = ["gradcheck", "GradcheckReport", "check_op", "check_layer", "CheckReport"]
