"""Loading the public AV-HuBERT checkpoints without fairseq and without running pickled code.

The released ``.pt`` files are fairseq training checkpoints: ``{"cfg", "model", "task_state",
...}`` whose pickle names fairseq / omegaconf / sentencepiece classes (a ``Dictionary`` in
``task_state``, config objects). :class:`RestrictedUnpickler` resolves torch's tensor-rebuild
functions and plain containers, maps those three packages to inert stand-ins (objects that only
keep their pickled state) and refuses every other global, so nothing in the file can run.
Fine-tuned files (``base_vox_433h.pt``, ...) carry the encoder under ``encoder.w2v_model.``;
their decoder and the pre-training heads are dropped.
"""

from __future__ import annotations

import pickle
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from lipdub.errors import CheckpointError

from lipdub_avhubert.model import AVHubert, AVHubertConfig

FINETUNED_PREFIX = "encoder.w2v_model."
#: Pre-training-only tensors of the official model, unused for features.
TRAINING_ONLY = ("mask_emb", "label_embs_concat", "final_proj.weight", "final_proj.bias")
#: Packages whose pickled objects become inert stand-ins.
INERT_PACKAGES = ("fairseq", "omegaconf", "sentencepiece", "argparse")

_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): __import__("collections").OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch", "Size"): torch.Size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
    ("builtins", "object"): object,
    ("copyreg", "_reconstructor"): __import__("copyreg")._reconstructor,
}
for _dtype in ("float16", "float32", "float64", "bfloat16", "int64", "int32", "uint8", "bool"):
    _ALLOWED[("torch", _dtype)] = getattr(torch, _dtype)


class Inert:
    """Stand-in for a pickled fairseq/omegaconf object: keeps its state, does nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # dict-like subclasses
        self.__dict__.setdefault("items", {})[key] = value

    def append(self, value: Any) -> None:  # list-like subclasses
        self.__dict__.setdefault("values", []).append(value)


_stand_ins: dict[str, type] = {}


def _stand_in(module: str, name: str) -> type:
    key = f"{module}.{name}"
    if key not in _stand_ins:
        _stand_ins[key] = type(name, (Inert,), {"__module__": f"inert.{module}"})
    return _stand_ins[key]


def _numpy_global(module: str, name: str) -> Any:
    allowed = {"scalar", "_reconstruct", "dtype", "ndarray"}
    if module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy") and name in allowed:
        import numpy as np

        return {"dtype": np.dtype, "ndarray": np.ndarray}.get(name) or getattr(
            np.core.multiarray, name
        )
    return None


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves only allow-listed globals; refuses the rest with an ``UnpicklingError``."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module.split(".")[0] in INERT_PACKAGES:
            return _stand_in(module, name)
        found = _numpy_global(module, name)
        if found is not None:
            return found
        raise pickle.UnpicklingError(f"refusing to load the pickled global {module}.{name}")


restricted_pickle = types.SimpleNamespace(
    Unpickler=RestrictedUnpickler, load=pickle.load, __name__="restricted_pickle"
)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint as a dict, unpickled with :class:`RestrictedUnpickler`."""
    try:
        saved = torch.load(
            Path(path), map_location="cpu", weights_only=False, pickle_module=restricted_pickle
        )
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{Path(path).name}: {exc} (not an AV-HuBERT checkpoint)") from None
    except (RuntimeError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{Path(path).name} could not be read: {first}") from None
    if not isinstance(saved, Mapping):
        raise CheckpointError(f"{Path(path).name} is not a checkpoint (a {type(saved).__name__})")
    return dict(saved)


def _as_dict(value: Any) -> dict[str, Any]:
    """A config section as a plain dict (plain dicts, or inert stand-ins of config objects)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Inert):
        for candidate in (getattr(value, "state", None), value.__dict__.get("items")):
            if isinstance(candidate, Mapping):
                content = candidate.get("_content", candidate)
                return dict(content) if isinstance(content, Mapping) else {}
        return {k: v for k, v in vars(value).items() if k not in ("args", "kwargs")}
    return {}


def model_settings(saved: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(model cfg, task cfg)`` of the pre-trained network (``w2v_args`` for fine-tuned)."""
    cfg = _as_dict(saved.get("cfg")) or _as_dict(saved.get("args"))
    model, task = _as_dict(cfg.get("model")), _as_dict(cfg.get("task"))
    inner = _as_dict(model.get("w2v_args"))
    if inner:
        model = _as_dict(inner.get("model")) or model
        task = task or _as_dict(inner.get("task"))
    return model, task


def encoder_state(saved: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The encoder's tensors, prefix and training-only heads removed, weight-norm names mapped."""
    state = saved.get("model", saved.get("state_dict"))
    if not isinstance(state, Mapping):
        raise CheckpointError("the checkpoint has no `model` state dict")
    if any(str(key).startswith(FINETUNED_PREFIX) for key in state):
        state = {
            k[len(FINETUNED_PREFIX) :]: v
            for k, v in state.items()
            if k.startswith(FINETUNED_PREFIX)
        }
    out = {}
    for key, value in state.items():
        if key in TRAINING_ONLY or not isinstance(value, torch.Tensor):
            continue
        key = key.replace("parametrizations.weight.original0", "weight_g")
        out[key.replace("parametrizations.weight.original1", "weight_v")] = value
    return out


def infer_config(state: Mapping[str, torch.Tensor], model_cfg: Mapping[str, Any]) -> AVHubertConfig:
    """The sizes of the network in ``state`` (heads from the cfg, else 64-d heads)."""
    try:
        dim = state["post_extract_proj.weight"].shape[0]
        v = state["encoder.pos_conv.0.weight_v"]
        prefix = "feature_extractor_video.resnet."
        resnet = (state[f"{prefix}frontend3D.0.weight"].shape[0],) + tuple(
            state[f"{prefix}trunk.layer{i}.0.conv1.weight"].shape[0] for i in range(1, 5)
        )
        config = AVHubertConfig(
            layers=1
            + max(
                int(m.group(1)) for k in state if (m := re.match(r"encoder\.layers\.(\d+)\.", k))
            ),
            dim=dim,
            ffn=state["encoder.layers.0.fc1.weight"].shape[0],
            heads=int(model_cfg.get("encoder_attention_heads", max(dim // 64, 1))),
            audio_dim=state["feature_extractor_audio.proj.weight"].shape[1],
            conv_pos=v.shape[-1],
            conv_pos_groups=dim // v.shape[1],
            resnet=resnet,  # type: ignore[arg-type]
        )
    except (KeyError, ValueError, IndexError) as exc:
        raise CheckpointError(
            f"not an AV-HuBERT encoder: {type(exc).__name__} {exc} (expected e.g. "
            "post_extract_proj.weight, encoder.layers.N.*, feature_extractor_video.resnet.*)"
        ) from None
    return config


def _check(model: AVHubert, state: Mapping[str, torch.Tensor], name: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected and not k.startswith("decoder.")]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    problems = [("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)]
    said = "; ".join(f"{what}: {', '.join(keys[:3])}" for what, keys in problems if keys)
    if said:
        raise CheckpointError(f"{name} does not match the AV-HuBERT encoder ({said})")


def load_avhubert(path: Path | str, device: str = "cpu") -> tuple[AVHubert, bool]:
    """``(model in eval mode, normalize_audio)`` from a public or seeded checkpoint."""
    path = Path(path)
    saved = read_checkpoint(path)
    model_cfg, task_cfg = model_settings(saved)
    state = encoder_state(saved)
    modality_fuse = model_cfg.get("modality_fuse", "concat")
    if modality_fuse != "concat":
        raise CheckpointError(f"{path.name}: modality_fuse {modality_fuse!r} is not supported")
    model = AVHubert(infer_config(state, model_cfg))
    _check(model, state, path.name)
    model.load_state_dict({k: v.float() for k, v in state.items() if k in model.state_dict()})
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model.to(device).eval(), bool(task_cfg.get("normalize", True))


def save_fairseq_style(
    model: AVHubert, path: Path, *, finetuned: bool = False, extra: Mapping[str, Any] | None = None
) -> None:
    """Write ``model`` the way fairseq writes AV-HuBERT (plain-dict cfg, training heads), for
    tests and for converting a locally trained network."""
    config = model.config
    state: dict[str, torch.Tensor] = {
        "mask_emb": torch.zeros(config.audio_dim),
        "label_embs_concat": torch.zeros(8, 256),
    }
    state.update(model.state_dict())
    state.update(
        {"final_proj.weight": torch.zeros(256, config.dim), "final_proj.bias": torch.zeros(256)}
    )
    model_cfg = {
        "_name": "av_hubert",
        "encoder_layers": config.layers,
        "encoder_embed_dim": config.dim,
        "encoder_ffn_embed_dim": config.ffn,
        "encoder_attention_heads": config.heads,
        "modality_fuse": "concat",
    }
    task_cfg = {"_name": "av_hubert_pretraining", "normalize": True, "stack_order_audio": 4}
    cfg: dict[str, Any] = {"model": model_cfg, "task": task_cfg}
    if finetuned:
        state = {
            FINETUNED_PREFIX + k: v for k, v in state.items() if not k.startswith("final_proj")
        }
        state["decoder.embed_tokens.weight"] = torch.zeros(10, config.dim)
        cfg = {"model": {"_name": "av_hubert_seq2seq", "w2v_args": cfg}, "task": task_cfg}
    saved = {"args": None, "cfg": cfg, "model": state, "optimizer_history": [], **(extra or {})}
    torch.save(saved, path)
