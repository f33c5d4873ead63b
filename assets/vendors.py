"""Every vendor's assets, in one list: adding a vendor is one line here (and its package beside saj/)."""

from assets import saj, sma, solax

VENDORS = [saj, solax, sma]
VENDOR_MODELS = [v.MODELS for v in VENDORS]
VENDOR_ASSETS = [a for v in VENDORS for a in v.assets]
