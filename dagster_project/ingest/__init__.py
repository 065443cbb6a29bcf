"""Loading landing files into the warehouse's raw schema."""
