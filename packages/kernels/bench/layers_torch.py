#!/usr/bin/env python3
"""PyTorch's side of bench/cuda-layers-bench.mjs, for the same device call: causal attention through
scaled_dot_product_attention (flash backend, bf16, dropout 0 and 0.2) and the linear layer's GEMMs
(bf16, fp32 accumulation) at the fused SASRec step's shapes. Same FLOP counts as the node bench.
  python3 bench/layers_torch.py [ml20m,beauty,beauty-d64]
"""
import sys

import torch
import torch.nn.functional as F

SHAPES = {"ml20m": (256, 512, 256, 2), "beauty": (1024, 32, 256, 2), "beauty-d64": (256, 50, 64, 2)}


def timed(fn, repeats=5, reps=10):
    fn()
    ms = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(reps):
            fn()
        b.record()
        torch.cuda.synchronize()
        ms.append(a.elapsed_time(b) / reps)
    return sorted(ms)[len(ms) // 2]


def report(name, op, ms, flops, nbytes=None):
    gb = f" · {nbytes / ms / 1e6:.0f} GB/s" if nbytes else ""
    print(f"{name:<10} torch {op:<26} {ms:8.3f} ms · {flops / ms / 1e9:.0f} TFLOP/s{gb}")


def main():
    names = sys.argv[1].split(",") if len(sys.argv) > 1 else list(SHAPES)
    dev = torch.device("cuda")
    print(f"device: {torch.cuda.get_device_name()} · torch {torch.__version__}")
    for name in names:
        B, L, D, H = SHAPES[name]
        dh = D // H
        pairs = B * H * L * (L + 1) / 2
        q, k, v = (torch.randn(B, H, L, dh, device=dev, dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
        for rate in (0.0, 0.2):
            with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.FLASH_ATTENTION):
                fwd = lambda: F.scaled_dot_product_attention(q, k, v, dropout_p=rate, is_causal=True)
                report(name, f"attention fwd, dropout {rate}", timed(lambda: fwd()), 4 * dh * pairs)
                o = fwd()
                g = torch.randn_like(o)
                both = timed(lambda: torch.autograd.grad(fwd(), (q, k, v), g))
                f = timed(lambda: fwd())
                report(name, f"attention bwd, dropout {rate}", both - f, 10 * dh * pairs)
        R = B * L
        x, dy = (torch.randn(R, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        w = torch.randn(D, D, device=dev, dtype=torch.bfloat16)
        b = torch.randn(D, device=dev, dtype=torch.bfloat16)
        flops, nbytes = 2 * R * D * D, 2 * R * D * 2
        report(name, "gemm Y = X·W + b", timed(lambda: torch.addmm(b, x, w)), flops, nbytes)
        report(name, "gemm dX = dY·Wᵀ", timed(lambda: dy @ w.t()), flops, nbytes)
        report(name, "gemm dW = Xᵀ·dY", timed(lambda: x.t() @ dy), flops, nbytes)


if __name__ == "__main__":
    main()
