"""A small decoder-only transformer language model: token embedding, rotary position embedding
(RoPE), multi-head causal self-attention, a GELU MLP, RMSNorm, and greedy generation.
RSIBENCH CANARY 902e0537-71ca-45ca-9714-17f1b7441670

Prompts of different lengths go in one batch left-padded: ``attention_mask`` is 1 on real
tokens and 0 on padding, and a token's position counts real tokens only, so a padded row gives
the same result as the same prompt alone.

Generation decodes incrementally: a KVCache keeps every layer's keys and values (after RoPE, for
the ``n_kv_head`` key/value heads of grouped-query attention), and each step runs the model on the
new tokens only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Config:
    vocab_size: int = 64
    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_kv_head: int | None = None  # grouped-query attention: None means n_head
    max_len: int = 64
    rope_base: float = 10000.0


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def apply_rope(x: torch.Tensor, positions: torch.Tensor, base: float) -> torch.Tensor:
    """Rotate x (B, H, T, head_dim) by the angles of `positions` (B, T): the first and second
    halves of the head dimension are the two coordinates of each rotated pair."""
    half = x.shape[-1] // 2
    freqs = base ** (-torch.arange(half, dtype=torch.float32) / half)
    angles = positions[:, None, :, None].to(torch.float32) * freqs  # (B, 1, T, half)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class KVCache:
    """Per layer, keys and values (B, n_kv_head, S, head_dim) of every position so far, and the
    mask (B, S) of which of those positions are real tokens (not padding)."""

    def __init__(self, n_layer: int):
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer
        self.real: torch.Tensor | None = None

    def length(self) -> int:
        return 0 if self.real is None else self.real.shape[1]

    def append(
        self, layer: int, k: torch.Tensor, v: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        old_k, old_v = self.k[layer], self.v[layer]
        self.k[layer] = k if old_k is None else torch.cat([old_k, k], dim=2)
        self.v[layer] = v if old_v is None else torch.cat([old_v, v], dim=2)
        return self.k[layer], self.v[layer]

    def truncate(self, length: int) -> None:
        """Keep the first `length` positions (drop rejected speculative tokens)."""
        self.k = [None if k is None else k[:, :, :length] for k in self.k]
        self.v = [None if v is None else v[:, :, :length] for v in self.v]
        if self.real is not None:
            self.real = self.real[:, :length]


class Attention(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        assert cfg.d_model % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.n_kv_head = cfg.n_kv_head or cfg.n_head
        assert cfg.n_head % self.n_kv_head == 0
        self.head_dim = cfg.d_model // cfg.n_head
        self.rope_base = cfg.rope_base
        self.wq = nn.Linear(cfg.d_model, cfg.n_head * self.head_dim, bias=False)
        self.wk = nn.Linear(cfg.d_model, self.n_kv_head * self.head_dim, bias=False)
        self.wv = nn.Linear(cfg.d_model, self.n_kv_head * self.head_dim, bias=False)
        self.wo = nn.Linear(cfg.n_head * self.head_dim, cfg.d_model, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        allowed: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """x (B, T, d_model) holds the new tokens; positions (B, T); allowed (B, 1, T, S) bool,
        True where query i may attend to key j, over the S = cached + T keys."""
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.n_head, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, self.n_kv_head, self.head_dim).transpose(1, 2)
        q = apply_rope(q, positions, self.rope_base)
        k = apply_rope(k, positions, self.rope_base)
        if cache is not None:
            k, v = cache.append(layer, k, v)
        if self.n_kv_head != self.n_head:  # query head h reads key/value head h // group
            group = self.n_head // self.n_kv_head
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~allowed, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v  # (B, H, T, head_dim)
        return self.wo(out.transpose(1, 2).reshape(b, t, self.n_head * self.head_dim))


class MLP(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.w1 = nn.Linear(cfg.d_model, 4 * cfg.d_model, bias=False)
        self.w2 = nn.Linear(4 * cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.gelu(self.w1(x)))


class Block(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.norm1 = RMSNorm(cfg.d_model)
        self.attn = Attention(cfg)
        self.norm2 = RMSNorm(cfg.d_model)
        self.mlp = MLP(cfg)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        allowed: torch.Tensor,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), positions, allowed, cache, layer)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
    ) -> torch.Tensor:
        """Logits (B, T, vocab) for input_ids (B, T), left-padded where attention_mask is 0.

        With a cache, input_ids are the tokens after the cached ones (attention_mask covers
        them only), they attend to the cached keys too, and their keys and values are added."""
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, t, dtype=torch.long)
        real = attention_mask.bool()
        past = 0
        if cache is not None:
            past = cache.length()
            if cache.real is not None:
                real = torch.cat([cache.real, real], dim=1)
            cache.real = real
        s = past + t
        positions = (real.long().cumsum(-1) - 1).clamp(min=0)[:, past:]
        causal = torch.ones(s, s, dtype=torch.bool).tril()[past:]  # (T, S)
        allowed = causal[None, None] & real[:, None, None, :]
        # a padding query may see only itself, so that its softmax stays finite
        allowed = allowed | torch.eye(s, dtype=torch.bool)[past:]
        x = self.tok_emb(input_ids)
        for i, block in enumerate(self.blocks):
            x = block(x, positions, allowed, cache, i)
        return self.lm_head(self.norm(x))

    @torch.no_grad()
    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Greedy decoding: input_ids (B, T) followed by max_new_tokens tokens, (B, T + N).

        The first step runs the model on the prompt and fills a KVCache; every later step runs
        it on the one new token per row, against the cache."""
        mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
        cache = KVCache(len(self.blocks))
        new, new_mask = input_ids, mask
        out = [input_ids]
        for _ in range(max_new_tokens):
            logits = self(new, new_mask, cache)[:, -1]
            new = logits.argmax(dim=-1, keepdim=True)
            new_mask = torch.ones_like(new)
            out.append(new)
        return torch.cat(out, dim=1)


@torch.no_grad()
def speculative_generate(
    target: Transformer,
    draft: Transformer,
    input_ids: torch.Tensor,
    max_new_tokens: int,
    num_draft: int,
) -> torch.Tensor:
    """Greedy speculative decoding of one sequence (1, T): exactly target.generate's tokens.

    Each round the draft proposes num_draft tokens greedily, one forward each on the tokens its
    cache lacks; the target checks them in one forward of num_draft + 1 tokens (the last
    output token and the proposals), accepts the longest prefix that agrees with its own greedy
    choice and adds its own next token; both caches then drop the rejected tokens."""
    assert input_ids.shape[0] == 1, "one sequence"
    t_cache, d_cache = KVCache(len(target.blocks)), KVCache(len(draft.blocks))
    prompt_len = input_ids.shape[1]
    out = input_ids[0].tolist()
    out.append(int(target(input_ids, None, t_cache)[0, -1].argmax()))
    draft(input_ids, None, d_cache)
    while len(out) - prompt_len < max_new_tokens:
        proposals: list[int] = []
        feed = out[d_cache.length() :]  # the last output token, and one more after a full accept
        for _ in range(num_draft):
            logits = draft(torch.tensor([feed]), None, d_cache)[0, -1]
            feed = [int(logits.argmax())]
            proposals.append(feed[0])
        logits = target(torch.tensor([[out[-1], *proposals]]), None, t_cache)[0]
        choice = logits.argmax(-1).tolist()
        accepted = 0
        while accepted < num_draft and proposals[accepted] == choice[accepted]:
            accepted += 1
        out += [*proposals[:accepted], choice[accepted]]
        keep = len(out) - 1  # the caches hold every output token but the last
        t_cache.truncate(keep)
        d_cache.truncate(min(d_cache.length(), keep))
    return torch.tensor([out[: prompt_len + max_new_tokens]])
