"""Golden fixtures for void-schedulers: diffusers' DDIMScheduler and CogVideoXDDIMScheduler.

For each case (a scheduler class and config) writes crates/void-schedulers/tests/golden/
scheduler_<case>.safetensors with:
  alphas_cumprod        f64 [T]      the table (as the class stores it, upcast)
  timesteps_<N>         i64 [N]      set_timesteps(N) for N in 1, 25, 30, 50
  sample, model_output  f32 [2,3,4,5] random inputs for step
  prev_<N>_<t>          f32          step(model_output, t, sample) after set_timesteps(N), f32 sample
  prev_bf16_<N>_<t>     f32          the same with the sample in bf16 (as the pipeline keeps latents)
  noisy_<t>             f32          add_noise(sample, model_output, t)
The config is stored as metadata `config` (JSON) along with `class` and the library versions.

Run: /path/to/python scripts/golden/scheduler_goldens.py [--out DIR]
"""

import argparse
import json
from pathlib import Path

import diffusers
import torch
from diffusers import CogVideoXDDIMScheduler, DDIMScheduler
from safetensors.torch import save_file

REPO = Path(__file__).resolve().parents[2]
# CogVideoX-Fun-V1.5-5b-InP/scheduler/scheduler_config.json as spec §5.2 gives it.
VOID = dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
            prediction_type="v_prediction", timestep_spacing="trailing", rescale_betas_zero_snr=True,
            set_alpha_to_one=True, steps_offset=0, clip_sample=False, snr_shift_scale=1.0)
CASES = {
    "ddim_void": (DDIMScheduler, VOID),
    "cogvideox_void": (CogVideoXDDIMScheduler, VOID),
    "cogvideox_shift3": (CogVideoXDDIMScheduler, {**VOID, "snr_shift_scale": 3.0}),
    "ddim_leading_eps": (DDIMScheduler, {**VOID, "timestep_spacing": "leading", "steps_offset": 1,
                                         "prediction_type": "epsilon", "rescale_betas_zero_snr": False,
                                         "set_alpha_to_one": False}),
}
STEPS = (1, 25, 30, 50)


def make(cls, config):
    kwargs = {k: v for k, v in config.items() if not (cls is DDIMScheduler and k == "snr_shift_scale")}
    return cls(**kwargs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates/void-schedulers/tests/golden")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 3, 4, 5, generator=gen)
    model_output = torch.randn(2, 3, 4, 5, generator=gen)
    for name, (cls, config) in CASES.items():
        sched = make(cls, config)
        tensors = {"alphas_cumprod": sched.alphas_cumprod.double(), "sample": sample, "model_output": model_output}
        for n in STEPS:
            sched.set_timesteps(n)
            ts = sched.timesteps
            tensors[f"timesteps_{n}"] = ts.to(torch.int64)
            for t in {int(ts[0]), int(ts[len(ts) // 2]), int(ts[-1])}:
                tensors[f"prev_{n}_{t}"] = sched.step(model_output, t, sample).prev_sample.float()
                bf16 = sched.step(model_output, t, sample.to(torch.bfloat16)).prev_sample
                tensors[f"prev_bf16_{n}_{t}"] = bf16.float()
        for t in (0, 500, 999):
            tensors[f"noisy_{t}"] = sched.add_noise(sample, model_output, torch.tensor([t])).float()
        meta = {"class": cls.__name__, "config": json.dumps(config), "script": "scripts/golden/scheduler_goldens.py",
                "torch": torch.__version__, "diffusers": diffusers.__version__}
        path = args.out / f"scheduler_{name}.safetensors"
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, meta)
        print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
