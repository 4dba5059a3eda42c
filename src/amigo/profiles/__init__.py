"""Golden customers, stores, associates, products, orders and interactions."""
