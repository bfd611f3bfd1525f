"""The fine-tune itself: transformers + peft LoRA (or full) on CPU or GPU, one step at a time.

A plain loop rather than ``transformers.Trainer``: after every optimiser step it hands a progress
point (step, epoch, loss, learning rate) to ``on_step``, which records it in the store and returns
False when the job was cancelled, so a cancel is honoured at the next step. Needs the ``train``
extra (torch, transformers, peft); nothing here touches the database.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shifty_ent.core.errors import InvalidInput, Refused

# point -> keep going?
StepFn = Callable[[dict[str, Any]], bool]
# a plain text (every token is learnt) or a (prompt, completion) pair (only the completion is)
Example = str | tuple[str, str]


@dataclass
class Hyperparameters:
    learning_rate: float = 2e-4
    batch_size: int = 4
    epochs: float = 1.0
    max_steps: int | None = None
    method: str = "lora"
    lora_r: int = 8
    lora_alpha: int | None = None
    lora_dropout: float = 0.0
    max_length: int = 128
    warmup_ratio: float = 0.1
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hyperparameters:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Result:
    steps: int
    stopped: bool
    first_loss: float | None
    final_loss: float | None
    seconds: float
    steps_per_second: float
    trainable_parameters: int
    total_parameters: int
    device: str
    examples: int
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "first_loss": self.first_loss,
            "final_loss": self.final_loss,
            "train_seconds": round(self.seconds, 3),
            "steps_per_second": round(self.steps_per_second, 3),
            "trainable_parameters": self.trainable_parameters,
            "total_parameters": self.total_parameters,
            "device": self.device,
            "examples": self.examples,
        }


def require_training_extra() -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise Refused(
            f"training needs the 'train' extra ({exc.name} is missing): "
            "pip install 'shifty-ent[train]'"
        ) from None


def quiet_libraries() -> None:
    """No tqdm bars or advisory warnings from transformers on our stderr."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import warnings

    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
    warnings.filterwarnings("ignore", category=UserWarning, module="peft")
    from transformers.utils import logging as tlog

    tlog.set_verbosity_error()
    tlog.disable_progress_bar()


def lora_targets(model: Any) -> list[str]:
    """The attention projections LoRA adapts, by architecture."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    for group in (["q_proj", "v_proj"], ["c_attn"], ["query", "value"], ["qkv_proj"]):
        if all(g in names for g in group):
            return group
    raise InvalidInput(
        "cannot find attention projections for LoRA in this architecture; use --full"
    )


def pick_device(device: str | None) -> str:
    """``cpu`` or ``cuda``: by default the GPU when torch sees one. Asking for CUDA on a host
    without one is refused rather than silently run on the CPU (hours instead of minutes)."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise InvalidInput(f"unknown device {device!r}: use cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise Refused("no CUDA device is visible to torch on this host")
    return device


def encode_example(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], int]:
    """Token ids of ``prompt`` then ``completion`` and how many are the prompt's. The parts are
    tokenized apart (the completion without special tokens) in training and in evaluation alike,
    so the label tokens a model learnt after a prompt are exactly the ones evaluation scores."""
    prompt_ids = list(tokenizer(prompt)["input_ids"]) if prompt else []
    completion_ids = list(tokenizer(completion, add_special_tokens=False)["input_ids"])
    return prompt_ids + completion_ids, len(prompt_ids)


def _batch(tokenizer: Any, examples: Sequence[Example], max_length: int) -> tuple[Any, Any, Any]:
    """(input ids, attention mask, labels) padded to ``max_length``. A pair learns only its
    completion and the end-of-text token; a too long pair loses the start of its prompt (the
    answer and the words just before it are what it is trained on)."""
    import torch

    rows: list[tuple[list[int], int]] = []
    for example in examples:
        if isinstance(example, str):
            ids, n_prompt = list(tokenizer(example)["input_ids"])[:max_length], 0
        else:
            ids, n_prompt = encode_example(tokenizer, *example)
            if tokenizer.eos_token_id is not None:
                ids.append(tokenizer.eos_token_id)
            cut = min(max(0, len(ids) - max_length), n_prompt)
            ids, n_prompt = ids[cut:][:max_length], n_prompt - cut
        rows.append((ids, n_prompt))
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(rows), max_length), pad, dtype=torch.long)
    attention = torch.zeros((len(rows), max_length), dtype=torch.long)
    labels = torch.full((len(rows), max_length), -100, dtype=torch.long)
    for i, (ids, n_prompt) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[i, : len(ids)] = 1
        labels[i, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:], dtype=torch.long)
    return input_ids, attention, labels


def finetune(
    base_dir: Path,
    texts: Sequence[Example],
    out_dir: Path,
    hp: Hyperparameters,
    on_step: StepFn,
    *,
    threads: int | None = None,
    device: str | None = None,
) -> Result:
    """Fine-tune the model in ``base_dir`` on ``texts`` (plain texts or (prompt, completion)
    pairs, see :func:`_batch`); save the adapter (or weights) to
    ``out_dir`` unless stopped early. Local files only: never contacts a hub. ``device`` is
    ``cpu`` or ``cuda``; by default the GPU when torch sees one (the bench forces each in turn)."""
    require_training_extra()
    quiet_libraries()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(hp.seed)
    if not texts:
        raise InvalidInput("the dataset holds no training examples")
    device = pick_device(device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_dir), local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(str(base_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"base model at {base_dir} is not a loadable causal LM: {str(exc).splitlines()[0]}"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    total_params = sum(p.numel() for p in model.parameters())
    if hp.method == "lora":
        from peft import LoraConfig, get_peft_model

        targets = lora_targets(model)
        cfg = LoraConfig(
            r=hp.lora_r,
            lora_alpha=hp.lora_alpha or 2 * hp.lora_r,
            lora_dropout=hp.lora_dropout,
            target_modules=targets,
            task_type="CAUSAL_LM",
            fan_in_fan_out=targets == ["c_attn"],
        )
        model = get_peft_model(model, cfg)
    model.to(device)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in trainable)

    input_ids, attention, labels = _batch(tokenizer, texts, hp.max_length)
    n = input_ids.shape[0]
    per_epoch = max(1, math.ceil(n / hp.batch_size))
    total = hp.max_steps or max(1, math.ceil(per_epoch * hp.epochs))
    optim = torch.optim.AdamW(trainable, lr=hp.learning_rate)
    sched = get_linear_schedule_with_warmup(optim, int(total * hp.warmup_ratio), total)
    gen = torch.Generator().manual_seed(hp.seed)
    order = torch.randperm(n, generator=gen)
    first: float | None = None
    last: float | None = None
    stopped = False
    step = 0
    start = time.perf_counter()
    while step < total:
        pos = (step % per_epoch) * hp.batch_size
        if step % per_epoch == 0 and step:
            order = torch.randperm(n, generator=gen)
        idx = order[pos : pos + hp.batch_size]
        out = model(
            input_ids=input_ids[idx].to(device),
            attention_mask=attention[idx].to(device),
            labels=labels[idx].to(device),
        )
        loss = out.loss
        if not torch.isfinite(loss):
            raise InvalidInput(
                f"loss became {loss.item()} at step {step + 1}: lower the learning rate"
            )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        lr = sched.get_last_lr()[0]
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        step += 1
        last = float(loss.item())
        first = last if first is None else first
        point = {
            "step": step,
            "total_steps": total,
            "epoch": round(step / per_epoch, 4),
            "loss": last,
            "learning_rate": lr,
        }
        if not on_step(point):
            stopped = True
            break
    seconds = time.perf_counter() - start
    if not stopped:
        out_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
    return Result(
        steps=step,
        stopped=stopped,
        first_loss=first,
        final_loss=last,
        seconds=seconds,
        steps_per_second=step / seconds if seconds > 0 else 0.0,
        trainable_parameters=n_trainable,
        total_parameters=total_params,
        device=device,
        examples=n,
    )


def load(
    base_dir: Path, adapter_dir: Path | None = None, *, device: str | None = None
) -> tuple[Any, Any]:
    """(model, tokenizer) for inference: the base, with the LoRA adapter applied when given, on
    ``device`` (by default the GPU when torch sees one, as for training)."""
    require_training_extra()
    quiet_libraries()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok_dir = adapter_dir if adapter_dir and (adapter_dir / "tokenizer.json").exists() else base_dir
    tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(str(base_dir), local_files_only=True)
    if adapter_dir is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter_dir))
    model.to(pick_device(device))
    model.eval()
    return model, tokenizer
