"""The world-model feature: decoders, latent transition models, rollouts and the encoder comparison."""

from .controller import WorldFeature

__all__ = ["WorldFeature"]
