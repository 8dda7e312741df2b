"""Page's DAWNBench ResNet-9 in PyTorch, the twin of fastc's fc_resnet9 (src/vision/models), shared by
the CIFAR-10 benchmarks (torch_cifar10_resnet9.py on the CPU, torch_cifar10_gpu.py on a GPU)."""
import torch.nn as nn


def conv_bn(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU())


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.module = nn.Sequential(conv_bn(c, c), conv_bn(c, c))

    def forward(self, x):
        return x + self.module(x)


class Mul(nn.Module):
    def forward(self, x):
        return x * 0.125


def resnet9(widen=1.0, n_out=10):
    c1, c2, c3, c4 = (int(64 * widen), int(128 * widen), int(256 * widen), int(512 * widen))
    return nn.Sequential(conv_bn(3, c1), conv_bn(c1, c2), nn.MaxPool2d(2), Residual(c2), conv_bn(c2, c3),
                         nn.MaxPool2d(2), conv_bn(c3, c4), nn.MaxPool2d(2), Residual(c4), nn.AdaptiveMaxPool2d(1),
                         nn.Flatten(), nn.Linear(c4, n_out, bias=False), Mul())
