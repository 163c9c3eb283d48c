"""The risk model: features, training, evaluation, the model registry and the shipped default model."""
