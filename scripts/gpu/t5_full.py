"""Full-size T5-XXL encoder on the GPU: PyTorch/transformers side of the comparison with void.

Builds transformers' T5EncoderModel with google/t5-v1_1-xxl's config (24 layers, d_model 4096,
64 heads x 64, d_ff 10240, gated-gelu, vocab 32128) and random weights on the GPU, and one
tokenised-looking input as VOID's pipeline sends it (B=1: 30 random ids, </s> = 1, then 0s to
226; no attention mask). Weights: T5's own initialisation, then RMSNorm weights 1 + N(0, 0.1^2)
and the relative attention bias N(0, 1), as in scripts/golden/t5_goldens.py. Writes to DIR:

  text_encoder/config.json                  the config, as save_pretrained writes it
  text_encoder/model.safetensors.index.json the bf16 weights in 5 GB shards (9.5 GB), as the real
  text_encoder/model-0000N-of-0000M.safetensors  checkpoint is stored
  inputs.safetensors                        input_ids i64 [1, 226]
  torch.safetensors                         last_hidden_state_bf16, last_hidden_state_f32 (f32)
  torch_timing.json                         median forward seconds (CUDA events, 1 warm-up, 10
                                            runs bf16, 3 runs f32), allocator peak GiB, and
                                            whether the position buckets on the GPU equal the CPU's

The f32 reference runs the bf16-rounded weights in f32 (TF32 off), so both runs compute the same
function. Run: python3 scripts/gpu/t5_full.py DIR   (needs a CUDA GPU with >= 40 GB, torch and
transformers; the device machine has torch 2.11 and transformers 5.x, whose T5 is the same
network as the reference's 4.57.1).
"""

import json
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel

# google/t5-v1_1-xxl, encoder as CogVideoX's text_encoder/config.json holds it.
CONFIG = dict(
    vocab_size=32128, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_decoder_layers=24,
    num_heads=64, relative_attention_num_buckets=32, relative_attention_max_distance=128,
    dropout_rate=0.1, layer_norm_epsilon=1e-6, initializer_factor=1.0, feed_forward_proj="gated-gelu",
    is_encoder_decoder=True, use_cache=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    tie_word_embeddings=False, architectures=["T5EncoderModel"],
)
LENGTH, REAL_TOKENS = 226, 30


def input_ids():
    ids = torch.zeros(1, LENGTH, dtype=torch.int64)
    ids[0, :REAL_TOKENS] = torch.randint(3, 32000, (REAL_TOKENS,))
    ids[0, REAL_TOKENS] = 1
    return ids


def timed_forward(model, ids, repeats):
    """Median seconds of `repeats` forwards after one warm-up (CUDA events), the output (f32)
    and the allocator's peak GiB."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    with torch.no_grad():
        out = model(input_ids=ids)[0]
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = model(input_ids=ids)[0]
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000)
    return sorted(times)[len(times) // 2], out.float(), torch.cuda.max_memory_allocated() / 2**30


def bucket_check():
    """Count of relative positions in [-512, 512] whose bucket differs between GPU and CPU."""
    from transformers.models.t5.modeling_t5 import T5Attention

    rel = torch.arange(-512, 513)
    args = dict(bidirectional=True, num_buckets=32, max_distance=128)
    cpu = T5Attention._relative_position_bucket(rel, **args)
    gpu = T5Attention._relative_position_bucket(rel.cuda(), **args).cpu()
    return int((cpu != gpu).sum())


def main():
    out_dir = Path(sys.argv[1])
    (out_dir / "text_encoder").mkdir(parents=True, exist_ok=True)
    dev = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    ids = input_ids()
    save_file({"input_ids": ids}, out_dir / "inputs.safetensors")
    ids = ids.to(dev)

    with dev:
        model = T5EncoderModel(T5Config(**CONFIG)).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif "relative_attention_bias" in name:
                p.copy_(torch.randn_like(p))
    model = model.to(torch.bfloat16).float()
    t_f32, out_f32, mem_f32 = timed_forward(model, ids, repeats=3)
    model = model.to(torch.bfloat16)
    t_bf16, out_bf16, mem_bf16 = timed_forward(model, ids, repeats=10)
    save_file({"last_hidden_state_bf16": out_bf16.cpu(), "last_hidden_state_f32": out_f32.cpu()},
              out_dir / "torch.safetensors")
    model.save_pretrained(out_dir / "text_encoder", max_shard_size="5GB")

    try:
        buckets = f"GPU position buckets equal the CPU's at {1025 - bucket_check()} of 1025 offsets"
    except Exception as e:  # a transformers without the static method: say so, don't fail
        buckets = f"bucket check not run: {e!r}"
    timing = dict(
        output="last_hidden_state",
        description=f"T5-XXL encoder (google/t5-v1_1-xxl config), B=1 x {LENGTH} tokens ({REAL_TOKENS} ids,"
                    " </s>, pads), no mask; T5 init, RMSNorm 1+N(0,0.1), position bias N(0,1)",
        torch_label=f"torch bf16 (transformers {transformers.__version__} eager)",
        void_label="void bf16",
        bf16_forward_s=t_bf16, bf16_peak_gib=mem_bf16, f32_forward_s=t_f32, f32_peak_gib=mem_f32,
        notes=[buckets], torch=torch.__version__, gpu=torch.cuda.get_device_name(),
    )
    (out_dir / "torch_timing.json").write_text(json.dumps(timing, indent=1))
    print(json.dumps(timing))


if __name__ == "__main__":
    main()
