"""The twin of bench/cifar10_resnet9.c: the same ResNet-9, data, augmentation, optimizer, schedule,
batch size, epochs and threads in PyTorch. Usage: torch_cifar10_resnet9.py DATA_DIR EPOCHS WIDEN BS LR KEEP
(DATA_DIR holds the extracted cifar10/ and cifar10_png_test4/ folders)."""
import os
import sys
import time

import torch
import torch.nn as nn
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_resnet9 import resnet9  # noqa: E402

root, epochs, widen, bs, lr, keep = (sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]),
                                     float(sys.argv[5]), int(sys.argv[6]))
torch.set_num_threads(2)
torch.manual_seed(0)
mean, std = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


model = resnet9(widen)


def keep_file(p):
    return int(os.path.splitext(os.path.basename(p))[0]) % keep == 0


train_tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
test_tf = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
train = ImageFolder(os.path.join(root, "cifar10", "train"), train_tf, is_valid_file=keep_file)
test = ImageFolder(os.path.join(root, "cifar10", "test"), test_tf, is_valid_file=keep_file)
train_dl = torch.utils.data.DataLoader(train, bs, shuffle=True, drop_last=False, num_workers=2)
test_dl = torch.utils.data.DataLoader(test, 2 * bs, num_workers=2)

# fastai's Adam: decoupled weight decay 0.01, none on biases and BatchNorm parameters
decay = [p for n, p in model.named_parameters() if p.ndim > 1]
no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=lr, betas=(0.9, 0.99), eps=1e-5)
steps = epochs * len(train_dl)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.25, div_factor=25,
                                            final_div_factor=1e5 / 25, base_momentum=0.85, max_momentum=0.95)
loss_fn = nn.CrossEntropyLoss()
print(f"torch {torch.__version__}: resnet9 widen {widen}, {len(train)} train / {len(test)} test images, "
      f"bs {bs}, {epochs} epochs, lr {lr}")
t0 = time.time()
for epoch in range(epochs):
    te = time.time()
    model.train()
    for x, y in train_dl:
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in test_dl:
            correct += (model(x).argmax(1) == y).sum().item()
    print(f"epoch {epoch} accuracy {correct / len(test):.4f} time {time.time() - te:.1f}s", flush=True)
secs = time.time() - t0
acc = correct / len(test)
test4 = ImageFolder(os.path.join(root, "cifar10_png_test4", "test"), test_tf)
names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
correct4 = 0
with torch.no_grad():
    for x, y in torch.utils.data.DataLoader(test4, 500):
        pred = model(x).argmax(1)
        correct4 += sum(names[p] == test4.classes[t] for p, t in zip(pred.tolist(), y.tolist()))
print(f"RESULT torch test_acc={acc:.4f} test4_acc={correct4 / len(test4):.4f} train_s={secs:.1f} "
      f"s_per_epoch={secs / epochs:.1f}")
