"""A quick local check of Transformer.generate: python3 check_decode.py

For a random model and random prompts it compares generate() with greedy decoding by full
recomputation (written out here, so it does not depend on generate), and prints how many
positions each forward fed through the first linear layer. The hidden checker does much more
(see the task's instructions); passing this script is not the same as passing it.
"""

from __future__ import annotations

import dataclasses

import torch

import model as m


def greedy_full(net: m.Transformer, ids: torch.Tensor, n: int, mask: torch.Tensor | None):
    mask = torch.ones_like(ids) if mask is None else mask
    with torch.no_grad():
        for _ in range(n):
            nxt = net(ids, mask)[:, -1].argmax(-1, keepdim=True)
            ids, mask = torch.cat([ids, nxt], 1), torch.cat([mask, torch.ones_like(nxt)], 1)
    return ids


def random_model(seed: int, **changes) -> m.Transformer:
    torch.manual_seed(seed)
    cfg = dataclasses.replace(m.Config(), **changes)
    net = m.Transformer(cfg).eval()
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() == 2 and "tok_emb" not in name:
                p.normal_(0, 1.5 / p.shape[1] ** 0.5)  # unit-scale activations
    return net


def rows_per_forward(net: m.Transformer) -> list[int]:
    seen: list[int] = []
    net.blocks[0].attn.wq.register_forward_pre_hook(lambda mod, a: seen.append(a[0].shape[1]))
    return seen


def check_single(seed: int) -> None:
    net = random_model(seed)
    seen = rows_per_forward(net)
    prompt = torch.randint(0, net.cfg.vocab_size, (1, 11))
    got = net.generate(prompt, 15)
    print("single: positions fed per forward:", seen)
    want = greedy_full(net, prompt, 15, None)
    print("single: tokens match full recomputation:", torch.equal(got, want))


def check_padded(seed: int) -> None:
    net = random_model(seed)
    lengths = [3, 9, 14]
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    mask = torch.zeros_like(ids)
    prompts = [torch.randint(0, net.cfg.vocab_size, (1, n)) for n in lengths]
    for b, p in enumerate(prompts):
        ids[b, -p.shape[1] :], mask[b, -p.shape[1] :] = p[0], 1
    got = net.generate(ids, 10, attention_mask=mask)
    same = all(
        torch.equal(got[b, -10:], greedy_full(net, p, 10, None)[0, -10:])
        for b, p in enumerate(prompts)
    )
    print("padded batch: each row matches its prompt decoded alone:", same)


if __name__ == "__main__":
    check_single(0)
    check_padded(1)
