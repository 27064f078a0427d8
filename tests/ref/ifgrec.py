"""ifgrec.py: ifg record streams (msgpack maps, common/records/kinds.h) and
safetensors files from Python, for the reference tests.  Needs msgpack and
numpy (Debian python3-msgpack, python3-numpy)."""
import json
import struct
import sys

import msgpack
import numpy as np

_DT = {"u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "i32": np.int32,
       "f32": np.float32, "f64": np.float64}


def array(a, dtype):
    a = np.ascontiguousarray(a, dtype=_DT[dtype])
    return {"dtype": dtype, "shape": list(a.shape), "data": a.astype(a.dtype.newbyteorder("<")).tobytes()}


def to_numpy(m):
    a = np.frombuffer(m["data"], dtype=np.dtype(_DT[m["dtype"]]).newbyteorder("<"))
    return a.reshape(m["shape"])


def write_tokens(f, docs, vocab_size, name="bytes", masks=None, block=0, sha256="0" * 64):
    """docs: lists of token ids; masks: None or lists of 0/1 per doc (or None).
    sha256: the tokenizer's identity (programs compare it, not the name)."""
    pk = msgpack.Packer(use_bin_type=True)
    f.write(pk.pack({"kind": "tokens", "version": 1,
                     "tokenizer": {"name": name, "sha256": sha256,
                                   "vocab_size": vocab_size, "eot": -1},
                     "block": block}))
    for i, d in enumerate(docs):
        rec = {"id": i, "tokens": array(d, "u16" if vocab_size <= 65536 else "u32")}
        if masks is not None and masks[i] is not None:
            rec["mask"] = array(masks[i], "u8")
        f.write(pk.pack(rec))


def write_pairs(f, pairs, vocab_size, name="bytes", sha256="0" * 64):
    """pairs: (prompt, chosen, rejected) lists of token ids -> a pairs stream."""
    pk = msgpack.Packer(use_bin_type=True)
    f.write(pk.pack({"kind": "pairs", "version": 1,
                     "tokenizer": {"name": name, "sha256": sha256,
                                   "vocab_size": vocab_size, "eot": -1}}))
    dt = "u16" if vocab_size <= 65536 else "u32"
    for i, (p, c, r) in enumerate(pairs):
        f.write(pk.pack({"id": i, "prompt": array(p, dt), "chosen": array(c, dt),
                         "rejected": array(r, dt)}))


def read_tokens(path):
    """(header, [(tokens ndarray, mask ndarray or None)])"""
    with open(path, "rb") as f:
        up = msgpack.Unpacker(f, raw=False)
        hdr = next(up)
        assert hdr["kind"] == "tokens", hdr
        recs = []
        for r in up:
            m = r.get("mask")
            recs.append((to_numpy(r["tokens"]).astype(np.int64),
                         None if m is None else to_numpy(m).astype(bool)))
    return hdr, recs


def byte_blocks(data, block):
    """Real text as bytes, cut into blocks of `block` tokens (vocabulary 256)."""
    return [list(data[i:i + block]) for i in range(0, len(data) - block + 1, block)]


def load_safetensors(path):
    """{name: float32 ndarray} (F32, or F16, BF16, BOOL converted), metadata"""
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    hdr = json.loads(buf[8:8 + n])
    meta = hdr.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for k, v in hdr.items():
        b, e = v["data_offsets"]
        raw = buf[base + b:base + e]
        if v["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype={"F32": "<f4", "F16": "<f2", "BOOL": "u1"}[v["dtype"]])
            if v["dtype"] != "F32":
                a = a.astype(np.float32)
        out[k] = a.reshape(v["shape"])
    return out, meta


# xoshiro256** and the record order of common/records/tokdata.c (ifg_order_at)
M64 = (1 << 64) - 1


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)


class Rng:
    def __init__(self, seed, stream=None):
        if stream is not None:
            seed ^= _mix64((stream + 0x632be59bd9b4e019) & M64)
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9e3779b97f4a7c15) & M64
            self.s.append(_mix64(seed))

    def u64(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        r = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = rotl(s[3], 45)
        return r

    def below(self, n):
        if n <= 1:
            return 0
        lo = (1 << 64) % n
        while True:
            x = self.u64()
            if x >= lo:
                return x % n


def epoch_perm(n, seed, epoch, shuffle=True):
    p = list(range(n))
    if not shuffle:
        return p
    r = Rng(seed, epoch)
    for i in range(n, 1, -1):
        j = r.below(i)
        p[i - 1], p[j] = p[j], p[i - 1]
    return p


if __name__ == "__main__":
    # mkbytes: byte-level token blocks of a text file (stdin) -> tokens stream
    block = int(sys.argv[1])
    write_tokens(sys.stdout.buffer, byte_blocks(sys.stdin.buffer.read(), block), 256)
