"""`--device auto|cpu|cuda`: one place that turns the user's choice into a torch device name."""

from __future__ import annotations

from geoprivacy.errors import GeoprivacyError

CHOICES = ("auto", "cpu", "cuda")


def pick_device(choice: str = "auto") -> str:
    """``auto`` → cuda when torch sees a GPU, else cpu. ``cuda`` without a GPU is an error."""
    if choice not in CHOICES and not choice.startswith("cuda:"):
        raise GeoprivacyError(f"unknown device {choice!r}; choose one of {', '.join(CHOICES)}")
    if choice == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    if choice == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        raise GeoprivacyError(f"--device {choice} asked for, but torch sees no CUDA GPU here")
    return choice
