"""Catalogs as data: band and sensor tables, cloud-mask codes."""
