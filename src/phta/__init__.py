"""PHTA: the open platform of a regional Precision Health Technologies Accelerator."""

__version__ = "0.1.0"
