"""Hugging Face parity fixtures for the runtime's Qwen3/Llama decoder, and checks of its exports.

The Java tests read only what this script wrote and committed; CI runs no Python. How it was run:

    python3 -m venv /tmp/hfenv
    /tmp/hfenv/bin/pip install torch transformers safetensors tokenizers numpy
    # (PyPI's Linux torch wheel pulls ~5 GB of CUDA libraries; this script needs only the CPU.)
    /tmp/hfenv/bin/python runtime/src/test/python/hf_fixtures.py make
    /tmp/hfenv/bin/python runtime/src/test/python/hf_fixtures.py example

Commands:
    make           tiny random Qwen3 (tied embeddings) and Llama (untied, sharded) models with a
                   small byte-level BPE tokenizer, and the expected logits, loss, gradients and
                   token ids, under runtime/src/test/resources/hf/
    example        the config and tokenizer of the random-init Qwen3 reverse-text example, under
                   examples/reverse-text/qwen3-tiny/
    check-export D loads the HF directory D (written by `stepwise checkpoint export --format hf`)
                   in transformers and compares its logits with the runtime's logits for the same
                   tokens, read from D/../<D name>.logits.safetensors (HfExportTest writes both)
    check-dir D [TEXT ... | --random N]
                   loads D in transformers and greedily answers each TEXT through the chat
                   template (a smoke test of an exported reverse-text model)

Versions used for the committed fixtures: torch 2.15.0, transformers 5.25.0, tokenizers 0.23.3.
"""

import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
)

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "runtime/src/test/resources/hf"
EXAMPLE = ROOT / "examples/reverse-text/qwen3-tiny"

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Strings whose ids the Java tokenizer must reproduce, non-ASCII included.
TOKENIZER_CASES = [
    "hello world",
    "abcxyz reversed zyxcba",
    "Grüße aus Köln, ça va?",
    "日本語のテキスト",
    "emoji 🙂 and 🚀!",
    "  leading spaces and trailing  ",
    "tabs\tand\nnew lines\r\n",
    "<|im_start|>user\nhi<|im_end|>\n",
    "",
]

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "reverse the string: abcdef -> fedcba",
    "hello world, hello tokenizer",
    "Grüße, ça va, naïve café, Köln, smørrebrød",
    "日本語のテキスト、中文文本",
    "emoji 🙂 🚀 ✨",
] * 20


def train_tokenizer(vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHATML
    return fast


def tiny_config(kind, vocab):
    common = dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=128,
        rms_norm_eps=1e-6,
        eos_token_id=vocab - 1,
        bos_token_id=None,
        pad_token_id=None,
    )
    if kind == "qwen3":
        return Qwen3Config(rope_theta=1_000_000.0, tie_word_embeddings=True, **common)
    return LlamaConfig(rope_theta=500_000.0, tie_word_embeddings=False, **common)


def make():
    torch.manual_seed(1234)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(320)
    vocab = len(tokenizer)
    cases = {
        "strings": TOKENIZER_CASES,
        "ids": [tokenizer.encode(s, add_special_tokens=False) for s in TOKENIZER_CASES],
        "chat": {
            "messages": [
                {"role": "system", "content": "Reverse the text."},
                {"role": "user", "content": "héllo 🙂"},
            ],
        },
    }
    cases["chat"]["ids"] = list(
        tokenizer.apply_chat_template(
            cases["chat"]["messages"], add_generation_prompt=True, tokenize=True,
            return_dict=False,
        )
    )
    (FIXTURES / "tokenizer-cases.json").write_text(
        json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    for kind in ["qwen3", "llama"]:
        out = FIXTURES / kind
        shutil.rmtree(out, ignore_errors=True)
        config = tiny_config(kind, vocab)
        cls = Qwen3ForCausalLM if kind == "qwen3" else LlamaForCausalLM
        model = cls(config).float()
        model.config.use_cache = False
        # Llama's shards exercise model.safetensors.index.json.
        shard = "100KB" if kind == "llama" else "50MB"
        model.save_pretrained(out, max_shard_size=shard)
        tokenizer.save_pretrained(out)
        model.train()
        gen = torch.Generator().manual_seed(7)
        ids = torch.randint(0, vocab, (2, 12), generator=gen)
        outputs = model(input_ids=ids, labels=ids)
        outputs.loss.backward()
        expected = {
            "input_ids": ids,
            "logits": outputs.logits.detach().contiguous(),
            "loss": outputs.loss.detach().reshape(1),
        }
        for name, p in model.named_parameters():
            expected["grad." + name] = p.grad.detach().contiguous()
        save_file(expected, FIXTURES / f"{kind}.expected.safetensors")
        print(kind, "vocab", vocab, "params", sum(p.numel() for p in model.parameters()),
              "loss", outputs.loss.item())


def example():
    EXAMPLE.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(300)
    vocab = len(tokenizer)
    config = Qwen3Config(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=192,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=64,
        rope_theta=10_000.0,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
    )
    config.save_pretrained(EXAMPLE)
    tokenizer.save_pretrained(EXAMPLE)
    print("example vocab", vocab)


def check_export(directory):
    directory = Path(directory)
    java = load_file(directory.parent / (directory.name + ".logits.safetensors"))
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=java["input_ids"]).logits
    diff = (logits - java["logits"]).abs().max().item()
    print(f"{directory}: transformers {type(model).__name__} loads it; "
          f"max |logits - runtime logits| = {diff:.3e} over {tuple(logits.shape)}")
    if diff > 1e-4:
        sys.exit(1)


def check_dir(directory, texts):
    """Loads D in transformers and greedily answers each text through the chat template."""
    from transformers import AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    print(type(model).__name__, sum(p.numel() for p in model.parameters()), "parameters")
    correct = 0
    for text in texts:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True,
            return_tensors="pt", return_dict=False,
        )
        out = model.generate(ids, max_new_tokens=12, do_sample=False,
                             eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
                             pad_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"))
        answer = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        correct += answer == text[::-1]
        print(f"  {text!r} -> {answer!r}")
    if texts:
        print(f"exact reversals: {correct}/{len(texts)}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "make"
    if command == "make":
        make()
    elif command == "example":
        example()
    elif command == "check-export":
        check_export(sys.argv[2])
    elif command == "check-dir":
        texts = sys.argv[3:]
        if texts[:1] == ["--random"]:
            # N strings like the reverse-text task's: 3-8 letters a-z (Python's RNG, seed 0).
            import random

            rng = random.Random(0)
            texts = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                             for _ in range(rng.randint(3, 8))) for _ in range(int(texts[1]))]
        check_dir(sys.argv[2], texts)
    else:
        sys.exit(__doc__)
