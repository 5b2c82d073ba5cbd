"""A plain PyTorch DCGAN training loop, written out by hand as the baseline ganzoo must beat.

It follows the well-known PyTorch DCGAN example: nz 100, ngf = ndf = 64, batch 64,
Adam 2e-4 / (0.5, 0.999), BCE with labels 1/0, the non-saturating G loss, N(0, 0.02) init,
and the fake batch of the D step reused for the G step. Networks for 64x64 (the example's) and
32x32 (one stride-2 layer fewer, like ganzoo's digits default).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn


def init_weights(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def generator(size: int, nc: int, nz: int = 100, ngf: int = 64) -> nn.Sequential:
    if size == 64:
        layers = [
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),  # 4x4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),  # 8x8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 16x16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),  # 32x32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),  # 64x64
        ]
    else:
        layers = [
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),  # 4x4
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 8x8
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),  # 16x16
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),  # 32x32
        ]
    net = nn.Sequential(*layers)
    net.apply(init_weights)
    return net


def discriminator(size: int, nc: int, ndf: int = 64) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    widths = [ndf, ndf * 2, ndf * 4] + ([ndf * 8] if size == 64 else [])
    for w_in, w_out in zip(widths, widths[1:], strict=False):
        layers += [nn.Conv2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), nn.Sigmoid()]
    net = nn.Sequential(*layers)
    net.apply(init_weights)
    return net


class PlainLoop:
    """The example's training step, on batches from an in-memory tensor."""

    def __init__(self, images: torch.Tensor, batch_size: int = 64, nz: int = 100, precision: str = "fp32",
                 channels_last: bool = False, device: str = "cpu") -> None:
        size, nc = images.shape[-1], images.shape[1]
        self.device = torch.device(device)
        self.images, self.batch_size, self.nz = images.to(self.device), batch_size, nz
        self.netG, self.netD = generator(size, nc, nz).to(self.device), discriminator(size, nc).to(self.device)
        self.channels_last = channels_last
        if channels_last:
            self.netG.to(memory_format=torch.channels_last)
            self.netD.to(memory_format=torch.channels_last)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCELoss()
        if precision not in ("fp32", "bf16"):
            raise ValueError("the plain loop runs fp32 or bf16 (fp16 would need gradient scaling)")
        kind = self.device.type
        self.autocast = (lambda: torch.autocast(kind, dtype=torch.bfloat16)) if precision == "bf16" else nullcontext
        self.cursor = 0

    def next_batch(self) -> torch.Tensor:
        if self.cursor + self.batch_size > len(self.images):
            self.cursor = 0
        batch = self.images[self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch

    def step(self) -> None:
        real = self.next_batch()
        b = real.shape[0]
        ones, zeros = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)
        # (1) D: maximise log D(x) + log(1 - D(G(z)))
        self.netD.zero_grad()
        with self.autocast():
            out_real = self.netD(real).view(-1)
        err_real = self.criterion(out_real.float(), ones)  # BCE outside autocast: it is unsafe there
        err_real.backward()
        noise = torch.randn(b, self.nz, 1, 1, device=self.device)
        with self.autocast():
            fake = self.netG(noise)
            out_fake = self.netD(fake.detach()).view(-1)
        err_fake = self.criterion(out_fake.float(), zeros)
        err_fake.backward()
        self.optD.step()
        # (2) G: maximise log D(G(z)), reusing the fake batch
        self.netG.zero_grad()
        with self.autocast():
            out = self.netD(fake).view(-1)
        err_g = self.criterion(out.float(), ones)
        err_g.backward()
        self.optG.step()
