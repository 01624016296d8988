"""Small helpers with no RL in them."""
