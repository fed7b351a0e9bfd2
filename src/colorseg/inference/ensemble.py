"""Average several segmentation models' class probabilities (nnU-Net's fold ensemble)."""

from __future__ import annotations

import math

import torch
from torch import nn

from colorseg.errors import ConfigError


class ProbabilityEnsemble(nn.Module):
    """Members with the same classes and input channels; forward gives log mean probabilities.

    ``forward``: (B, C, H, W) in [0, 1] → (B, K, H, W) ``log(mean_m softmax(member_m(x)))``, so a
    caller that applies softmax (as :class:`~colorseg.inference.segmenter.Segmenter` does) gets
    the mean of the members' probabilities. ``class_names``, ``class_colors``, ``in_channels``
    are the first member's; ``size_multiple`` is the least common multiple of the members'.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ConfigError("an ensemble needs at least one model")
        first = members[0]
        ref = (list(first.class_names), int(first.in_channels))
        for i, m in enumerate(members[1:], start=1):
            mine = (list(m.class_names), int(m.in_channels))
            if mine != ref:
                raise ConfigError(f"ensemble member {i} has classes/channels {mine}, member 0 has {ref}")
        self.members = nn.ModuleList(members)
        self.class_names, self.class_colors, self.in_channels = first.class_names, first.class_colors, first.in_channels
        self.size_multiple = math.lcm(*(m.size_multiple for m in members))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([m(image).float().softmax(1) for m in self.members]).mean(0)
        return probs.clamp_min(1e-12).log()
