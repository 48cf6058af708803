"""Machine-learning half of Futurisys: data, feature derivation, training and prediction (no Flask here)."""
