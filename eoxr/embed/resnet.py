"""ResNet-18/50 backbones in plain torch, with timm's (and torchvision's) parameter names.

Used to build a published encoder when neither timm nor torchgeo is installed: a state dict saved
from ``timm.create_model("resnet50", in_chans=13)`` (torchgeo's SSL4EO-S12 weights) loads into
:func:`resnet` unchanged. The classifier is left out: the output is the globally average-pooled
feature vector (512 for ResNet-18, 2048 for ResNet-50), one per patch.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ParameterError

#: (block type, blocks per stage) of each architecture.
LAYOUT = {"resnet18": ("basic", (2, 2, 2, 2)), "resnet50": ("bottleneck", (3, 4, 6, 3))}


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c)


class Basic(nn.Module):
    """Two 3x3 convolutions with a skip connection (He et al. 2016, Fig. 5 left)."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, width, 3, stride, 1, bias=False)
        self.bn1 = _bn(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = _bn(width)
        self.downsample = _shortcut(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand x4, with a skip connection (Fig. 5 right)."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * 4
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = _bn(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = _bn(width)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = _bn(out)
        self.downsample = _shortcut(c_in, out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Module | None:
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), _bn(c_out))


class ResNet(nn.Module):
    """Stem, four stages, global average pooling: ``(N, C, H, W) -> (N, features)``."""

    def __init__(self, arch: str, in_chans: int) -> None:
        super().__init__()
        kind, depths = LAYOUT[arch]
        block = Basic if kind == "basic" else Bottleneck
        self.conv1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False)
        self.bn1 = _bn(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = 64
        for i, (n, width) in enumerate(zip(depths, (64, 128, 256, 512))):
            blocks = []
            for j in range(n):
                blocks.append(block(c, width, 2 if j == 0 and i > 0 else 1))
                c = width * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.num_features = c
        self.in_channels = in_chans

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3))


def resnet(arch: str, in_chans: int) -> nn.Module:
    """A ResNet backbone: timm's when installed (same names), else this module's.

    Examples
    --------
    >>> import torch
    >>> resnet("resnet18", 4).eval()(torch.zeros(2, 4, 32, 32)).shape
    torch.Size([2, 512])
    """
    if arch not in LAYOUT:
        raise ParameterError(f"arch={arch!r}: expected one of {sorted(LAYOUT)}.")
    try:
        import timm
    except ImportError:
        return ResNet(arch, in_chans)
    return timm.create_model(arch, in_chans=in_chans, num_classes=0, pretrained=False)


__all__ = ["resnet", "ResNet", "LAYOUT"]
