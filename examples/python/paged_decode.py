#!/usr/bin/env python3
"""A decode loop over attnkern's paged K/V cache: a toy one-layer model serving three sequences at
once (continuous batching), with NumPy only.

The cache is two NumPy arrays of blocks (num_blocks, kv_heads, 64, head_dim) in float16 that this
script owns; each sequence has a block table, takes a free block when its last one is full, and one
sequence joins late with a prompt of its own (a prefill chunk in the same call as the others'
decode rows). Every step prints each sequence's length and the largest difference between the
paged call and attnkern.attention over a contiguous float32 copy of the same keys and values: 0,
bit for bit. Run: python3 examples/python/paged_decode.py [--steps N]"""
import argparse

import numpy as np

import attnkern

HEADS, KV_HEADS, DIM, BLOCK = 8, 2, 64, 64


class PagedCache:
    """The blocks, a free list, and each sequence's table and length."""

    def __init__(self, num_blocks):
        self.k = np.zeros((num_blocks, KV_HEADS, BLOCK, DIM), np.float16)
        self.v = np.zeros((num_blocks, KV_HEADS, BLOCK, DIM), np.float16)
        self.free = list(range(num_blocks))[::-1]
        self.tables, self.lens = {}, {}

    def slots(self, seq, n):
        """Slots for n new positions of seq (new blocks taken from the free list as needed)."""
        table, start = self.tables.setdefault(seq, []), self.lens.get(seq, 0)
        out = []
        for p in range(start, start + n):
            if p // BLOCK == len(table):
                table.append(self.free.pop())
            out.append(table[p // BLOCK] * BLOCK + p % BLOCK)
        self.lens[seq] = start + n
        return np.array(out, np.int64)

    def table_array(self, seqs):
        width = max(len(self.tables[s]) for s in seqs)
        t = np.zeros((len(seqs), width), np.int32)
        for i, s in enumerate(seqs):
            t[i, :len(self.tables[s])] = self.tables[s]
        return t

    def contiguous(self, seq):
        """seq's keys and values as float32 (length, kv_heads, dim) arrays, read back through its table."""
        t, n = self.tables[seq], self.lens[seq]
        k = np.concatenate([self.k[b] for b in t], axis=1)[:, :n].transpose(1, 0, 2).astype(np.float32)
        v = np.concatenate([self.v[b] for b in t], axis=1)[:, :n].transpose(1, 0, 2).astype(np.float32)
        return k, v


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    w_q, w_k, w_v = (rng.standard_normal((DIM, h * DIM)).astype(np.float32) / 8 for h in (HEADS, KV_HEADS, KV_HEADS))
    cache = PagedCache(num_blocks=64)
    x = {0: rng.standard_normal((100, DIM)).astype(np.float32), 1: rng.standard_normal((30, DIM)).astype(np.float32)}
    for step in range(args.steps):
        if step == 3:  # a new request arrives: its prompt is prefilled beside the others' decode steps
            x[2] = rng.standard_normal((70, DIM)).astype(np.float32)
        seqs = sorted(x)
        rows = [x[s] for s in seqs]
        for s, r in zip(seqs, rows):  # this step's new positions into the cache
            cache_slots = cache.slots(s, len(r))
            attnkern.kv_append(cache.k, cache.v, (r @ w_k).reshape(-1, KV_HEADS, DIM), (r @ w_v).reshape(-1, KV_HEADS, DIM),
                               cache_slots)
        q = np.concatenate([(r @ w_q).reshape(-1, HEADS, DIM) for r in rows])
        cu_q = np.cumsum([0] + [len(r) for r in rows])
        lens = [cache.lens[s] for s in seqs]
        out = attnkern.paged_attention(q, cache.k, cache.v, cu_q, lens, cache.table_array(seqs))
        report = []
        for i, s in enumerate(seqs):
            k, v = cache.contiguous(s)
            want = attnkern.attention(q[cu_q[i]:cu_q[i + 1]], k, v, layout="BSHD", causal=True, align="bottom_right")
            report.append(f"seq {s}: {lens[i]:4d} keys, {cu_q[i + 1] - cu_q[i]:3d} rows, "
                          f"max |paged - contiguous| = {np.abs(out[cu_q[i]:cu_q[i + 1]] - want).max():.1e}")
        print(f"step {step}: " + "; ".join(report))
        # the next step's input: one new position per sequence, from this step's last output row
        x = {s: out[cu_q[i + 1] - 1].reshape(HEADS, DIM).mean(axis=0, keepdims=True) for i, s in enumerate(seqs)}
    print(f"blocks in use: {64 - len(cache.free)} of 64")


if __name__ == "__main__":
    main()
