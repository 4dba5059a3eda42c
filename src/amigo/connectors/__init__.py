"""One sub-package per external system: Cegid Y2, Shopify, web forms."""
