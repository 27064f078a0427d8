"""kf_families.py: Kronfluence 1.0.1 (the peer in ../shared/peers, kf_ifg.py)
on a GPT-NeoX or Llama checkpoint, where kf_ifg.py itself knows only GPT-2.

The model is model_ref.py's (written from Hugging Face's definitions) with
each tracked linear layer an nn.Linear module under its Hugging Face name
(gpt_neox.layers.0.attention.query_key_value, model.layers.0.self_attn.k_proj,
...), which is what Kronfluence tracks; everything else is kf_ifg.py's run:
the same data, task, options and output JSON.

  IFG_PEERS=../shared/peers kf_families.py [--threads N] run CKPT --train ... (as kf_ifg.py run)
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.environ.get("IFG_PEERS", os.path.join(os.path.dirname(__file__),
                                                            "../../../shared/peers")))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kf_ifg  # noqa: E402  (sets up kronfluence)
import model_ref  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

KINDS = {"gpt_neox": ("gpt_neox.layers.{}.", ("attention.query_key_value", "attention.dense",
                                             "mlp.dense_h_to_4h", "mlp.dense_4h_to_h")),
         "llama": ("model.layers.{}.", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                       "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                       "mlp.down_proj"))}


def tracked(cfg):
    pre, kinds = KINDS[model_ref.family(cfg)]
    return [pre.format(l) + k for l in range(cfg["num_hidden_layers"]) for k in kinds]


class Config:
    """what kf_ifg.py reads of a model's config"""

    def __init__(self, cfg):
        self.raw = cfg
        self.n_positions = cfg["max_position_embeddings"]
        self.vocab_size = cfg["vocab_size"]
        self.n_layer = cfg["num_hidden_layers"]

    def to_json(self):
        return self.raw


class FamilyLM(nn.Module):
    """model_ref's forward with the tracked layers as nn.Linear submodules"""

    def __init__(self, p, cfg, dtype):
        super().__init__()
        self.cfg, self.config = cfg, Config(cfg)
        self.p = {k: v.detach().to(dtype) for k, v in p.items()}
        for name in tracked(cfg):
            w, b = self.p[name + ".weight"], self.p.get(name + ".bias")
            lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None).to(dtype)
            with torch.no_grad():
                lin.weight.copy_(w)
                if b is not None:
                    lin.bias.copy_(b)
            parent, parts = self, name.split(".")
            for part in parts[:-1]:  # nested ModuleDicts give the dotted name
                if part not in parent._modules:
                    parent.add_module(part, nn.ModuleDict())
                parent = parent._modules[part]
            parent.add_module(parts[-1], lin)

    def forward(self, ids):
        # the module is looked up at each call: Kronfluence wraps it in place
        return model_ref.forward(self.p, self.cfg, ids,
                                 lambda name, x, w, b: self.get_submodule(name)(x))


def load(ckpt, dtype, linear=True):
    p, cfg = model_ref.load_ckpt(ckpt, dtype)
    if model_ref.family(cfg) not in KINDS:
        sys.exit(f"kf_families: '{ckpt}' is a {model_ref.family(cfg)} model; use kf_ifg.py")
    m = FamilyLM(p, cfg, dtype)
    kf_ifg.tracked_names = lambda n_layer: tracked(cfg)
    return m


kf_ifg.gpt2_ref.load = load

if __name__ == "__main__":
    sys.exit(kf_ifg.main(sys.argv[1:]))
