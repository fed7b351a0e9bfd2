"""Upgrading older checkpoint layouts in memory, so old checkpoints keep loading.

Format 1 (colorseg ≤ 0.2): the from-scratch U-Net and the CVAE held their encoder and decoder
blocks directly (``net.inc``, ``net.downs``, ``net.ups``); format 2 moves them under
``net.encoder`` and ``net.decoder`` (the encoder registry). Weights are unchanged, only renamed.
"""

from __future__ import annotations

#: format-1 → format-2 state-dict prefixes (the model sits under ``net.`` in both tasks)
FORMAT1_RENAMES = (("net.inc.", "net.encoder.inc."), ("net.downs.", "net.encoder.downs."),
                   ("net.ups.", "net.decoder.ups."))


def upgrade_state_dict(state: dict, fmt: int) -> dict:
    """``state`` with its keys renamed from checkpoint format ``fmt`` to the current one."""
    if fmt >= 2:
        return state
    out = {}
    for key, value in state.items():
        for old, new in FORMAT1_RENAMES:
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def upgrade_checkpoint(checkpoint: dict, fmt: int) -> dict:
    """Upgrade a raw checkpoint dict in place (state dict keys); returns it."""
    if fmt < 2 and isinstance(checkpoint.get("state_dict"), dict):
        checkpoint["state_dict"] = upgrade_state_dict(checkpoint["state_dict"], fmt)
    return checkpoint
