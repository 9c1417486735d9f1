"""Master data: organisations, products, batches, shipments, vendors, contracts and assets,
imported from files."""
