#!/usr/bin/env python3
"""make_torchscript_testdata.py - writes the small TorchScript files of tests/test_runner_torchscript.c into
tests/data/torchscript/ (committed; a few kilobytes each).

Run with Debian's torch (python3-torch, 1.13, the version of Debian's libtorch that the module is built against:
a TorchScript file written by a newer torch may not load in an older libtorch, one written by 1.13 loads in 1.13 and
later):

    /usr/bin/python3 tools/make_torchscript_testdata.py

Every model is scripted (torch.jit.script), so that its control flow and shapes are not frozen by tracing. The
known-weights convolution's weights and biases are written out here and restated in the test, which computes the
convolution itself in double precision.
"""
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "torchscript")


def conv_weights():
    """Conv3d(2 -> 3, 3x3x3, zero padding 1): weight[o][i][a][b][c] = (((o*2 + i)*27 + a*9 + b*3 + c) % 7 - 3) / 8,
    bias = (0.5, -0.25, 0.125). Every value is exact in float32."""
    w = torch.zeros(3, 2, 3, 3, 3)
    for o in range(3):
        for i in range(2):
            for a in range(3):
                for b in range(3):
                    for c in range(3):
                        w[o, i, a, b, c] = (((o * 2 + i) * 27 + a * 9 + b * 3 + c) % 7 - 3) / 8
    return w, torch.tensor([0.5, -0.25, 0.125])


def known_conv():
    conv = nn.Conv3d(2, 3, 3, padding=1, bias=True)
    w, b = conv_weights()
    with torch.no_grad():
        conv.weight.copy_(w)
        conv.bias.copy_(b)
    return conv


class Conv(nn.Module):
    """The known convolution: (N, 2, D, H, W) -> (N, 3, D, H, W)."""

    def __init__(self):
        super().__init__()
        self.conv = known_conv()

    def forward(self, x):
        return self.conv(x)


class DeepSupervision(nn.Module):
    """The known convolution, returned first in a tuple with a half-resolution copy (as deep-supervision networks
    return their outputs): the runner takes the first element."""

    def __init__(self):
        super().__init__()
        self.conv = known_conv()

    def forward(self, x):
        y = self.conv(x)
        return (y, y[:, :, ::2, ::2, ::2])


class HalfOutput(nn.Module):
    """The known convolution, its output rounded to float16 (the runner converts it to float32)."""

    def __init__(self):
        super().__init__()
        self.conv = known_conv()

    def forward(self, x):
        return self.conv(x).half()


class Shrinks(nn.Module):
    """A 3x3x3 convolution without padding: the output is 2 voxels smaller than the input along each axis."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(1, 2, 3, padding=0)

    def forward(self, x):
        return self.conv(x)


class Sqrt(nn.Module):
    """sqrt(x): NaN where an input voxel is negative."""

    def forward(self, x):
        return torch.sqrt(x)


class InPlace(nn.Module):
    """Doubles its input in place and returns it: the runner must not let it write into voxtile's input."""

    def forward(self, x):
        x.mul_(2.0)
        return x


class Rank4(nn.Module):
    """(N, C, D, H, W) -> (N, D, H, W): the channel axis summed away."""

    def forward(self, x):
        return x.sum(1)


class Labels(nn.Module):
    """Returns int64 labels (argmax) instead of class values."""

    def forward(self, x):
        return torch.cat([x, -x], 1).argmax(1, keepdim=True)


class FirstTileOnly(nn.Module):
    """Returns the first tile of the batch only."""

    def forward(self, x):
        return x[:1]


class TwoInputs(nn.Module):
    """forward(x, y): two tensors."""

    def forward(self, x, y):
        return x + y


class DictOutput(nn.Module):
    """Returns a dict."""

    def forward(self, x):
        return {"out": x}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    models = {
        "conv3d.pt": Conv(),
        "deep_supervision.pt": DeepSupervision(),
        "half_output.pt": HalfOutput(),
        "shrinks.pt": Shrinks(),
        "sqrt.pt": Sqrt(),
        "in_place.pt": InPlace(),
        "rank4_output.pt": Rank4(),
        "labels_output.pt": Labels(),
        "first_tile_only.pt": FirstTileOnly(),
        "two_inputs.pt": TwoInputs(),
        "dict_output.pt": DictOutput(),
    }
    for name, model in models.items():
        path = os.path.join(OUT, name)
        torch.jit.save(torch.jit.script(model.eval()), path)
        print(f"{path}: {os.path.getsize(path)} bytes")
    # A zip archive that torch.save wrote (weights, no program): not TorchScript.
    path = os.path.join(OUT, "weights_only.pt")
    torch.save(Conv().state_dict(), path)
    print(f"{path}: {os.path.getsize(path)} bytes")
    # Check: the known convolution against its definition, here in torch (the test checks it in C).
    x = torch.rand(1, 2, 4, 5, 6) * 3 - 1
    m = torch.jit.load(os.path.join(OUT, "conv3d.pt"))
    w, b = conv_weights()
    assert torch.allclose(m(x), torch.nn.functional.conv3d(x, w, b, padding=1), atol=1e-6)


if __name__ == "__main__":
    main()
