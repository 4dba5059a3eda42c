"""Shopify, the web shop: Admin REST resources and their mapping to facts."""
