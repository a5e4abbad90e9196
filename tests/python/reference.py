"""float64 references written from the maths, and the error measures of include/attnkern/bounds.hpp."""
import numpy as np


def ulp_error(y, ref):
    """|y - ref| in units of the float32 spacing at ref: 2^(floor(log2 |ref|) - 23), never below 2^-149."""
    y, ref = np.asarray(y, np.float64), np.asarray(ref, np.float64)
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(ref)))
    spacing = np.maximum(np.exp2(np.where(np.isfinite(e), e, -200) - 23), 2.0 ** -149)
    return np.abs(y - ref) / spacing


def softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    m = x.max(axis=axis, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def fused(scores, values, lengths):
    """The fused kernels' pattern per batch item b: alpha = softmax(scores(b, n)) over the first n
    steps (n = lengths[b], or all), context = alpha @ values[b, :n]; padding gets weight 0."""
    values = np.asarray(values, np.float64)
    batch, steps, features = values.shape
    context, weights = np.zeros((batch, features)), np.zeros((batch, steps))
    for b in range(batch):
        n = steps if lengths is None else lengths[b]
        if n:
            weights[b, :n] = softmax(scores(b, n))
            context[b] = weights[b, :n] @ values[b, :n]
    return context, weights


def attention_pool(h, w, bias, lengths):
    h = np.asarray(h, np.float64)
    bias = np.zeros(h.shape[1]) if bias is None else np.float64(bias)
    return fused(lambda b, n: np.tanh(h[b, :n] @ np.float64(w) + bias[:n]), h, lengths)


def additive(keys, query, v, values, lengths):
    keys = np.asarray(keys, np.float64)
    return fused(lambda b, n: np.tanh(keys[b, :n] + np.float64(query[b])) @ np.float64(v), values, lengths)


def attention(q, k, v, scale=None, causal=False, align="top_left", window=None, kv_starts=None, kv_lengths=None,
              mask=None, bias=None, bias_head_scales=None, alibi_slopes=None, softcap=0.0, sinks=None):
    """q (B, Hq, Sq, D), k (B, Hk, Skv, D), v (B, Hk, Skv, Dv), all BHSD; mask and bias broadcast to
    (B, Hq, Sq, Skv). Returns out (B, Hq, Sq, Dv), lse (B, Hq, Sq), and the error bounds' terms per row
    (include/attnkern/bounds.hpp): sigma (the largest |score term| a row sees), n (the keys it sees, a
    sink not counted) and max_v (the largest |v| over those keys; 0 for a row that sees none)."""
    q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
    B, Hq, Sq, D = q.shape
    Hk, Skv = k.shape[1], k.shape[2]
    scale = 1 / np.sqrt(D) if scale is None else scale
    shape = (B, Hq, Sq, Skv)
    mask = None if mask is None else np.broadcast_to(mask, shape)
    bias = None if bias is None else np.broadcast_to(np.asarray(bias, np.float64), shape)
    out = np.zeros((B, Hq, Sq, v.shape[3]))
    lse = np.full((B, Hq, Sq), -np.inf)
    sigma = np.zeros((B, Hq, Sq))
    n_seen = np.zeros((B, Hq, Sq), dtype=np.int64)
    max_v = np.zeros((B, Hq, Sq))
    j = np.arange(Skv)
    for b in range(B):
        start = 0 if kv_starts is None else kv_starts[b]
        end = Skv if kv_lengths is None else kv_lengths[b]
        for h in range(Hq):
            g = h // (Hq // Hk)
            qk = scale * (q[b, h] @ k[b, g].T)
            size = scale * (np.abs(q[b, h]) @ np.abs(k[b, g]).T)
            s = softcap * np.tanh(qk / softcap) if softcap > 0 else qk.copy()
            for i in range(Sq):
                d = start + i if align == "top_left" else end - Sq + i
                seen = (j >= start) & (j < end)
                if causal:
                    seen &= j <= d
                if window is not None:
                    left, right = (np.inf if w is None else w for w in window)
                    seen &= (j >= d - left) & (j <= d + right)
                if mask is not None:
                    seen &= mask[b, h, i] != 0
                row = s[i].copy()
                terms = size[i].copy()
                if bias is not None:
                    hs = 1.0 if bias_head_scales is None else bias_head_scales[h]
                    seen &= bias[b, h, i] != -np.inf
                    bias_term = np.where(seen, bias[b, h, i], 0) * hs
                    row += bias_term
                    terms += np.abs(bias_term)
                if alibi_slopes is not None:
                    row += alibi_slopes[h] * (j - d)
                    terms += np.abs(alibi_slopes[h] * (j - d))
                sink = -np.inf if sinks is None else sinks[h]
                n_seen[b, h, i] = seen.sum()
                if not seen.any():
                    lse[b, h, i] = sink
                    continue
                m = max(row[seen].max(), sink)
                p = np.exp(row[seen] - m)
                denominator = p.sum() + np.exp(sink - m)
                out[b, h, i] = p @ v[b, g][seen] / denominator
                lse[b, h, i] = m + np.log(denominator)
                sigma[b, h, i] = terms[seen].max()
                max_v[b, h, i] = np.abs(v[b, g][seen]).max()
    return out, lse, sigma, n_seen, max_v
