"""Loss functions (pure torch) and thin nn.Module wrappers."""
