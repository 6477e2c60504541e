def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1
    return scores
