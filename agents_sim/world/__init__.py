"""The simulated city: zones (districts), geometry helpers, the driver H3 index and routers."""
