"""Where signals meet: rules engine, generation pipeline and its API (later: the learned predictor)."""
