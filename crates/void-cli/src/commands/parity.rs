//! `void parity`: one forward pass of one network on inputs from a file, output to a file.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device, Tensor};
use void_schedulers::{Ddim, Flavour, SchedulerConfig};
use void_weights::t5::load_t5;
use void_weights::transformer::load_transformer;

use crate::cli::{
    DTypeArg, DeviceArg, FlavourArg, ParitySchedulerArgs, ParityT5Args, ParityTransformerArgs,
    RunArgs,
};

/// Runs the transformer once (or `--repeat` times) and writes `sample`.
pub fn transformer(args: &ParityTransformerArgs) -> anyhow::Result<ExitCode> {
    let (device, dtype) = (device(args.run.device)?, dtype(args.run.dtype));
    let inputs = read_inputs(
        &args.inputs,
        &["hidden_states", "encoder_hidden_states", "timestep"],
        &device,
    )?;
    let (model, load_s) = timed(&device, || {
        Ok(load_transformer(
            &args.config,
            &args.weights,
            args.in_channels,
            dtype,
            &device,
        )?)
    })?;
    let (sample, forward) = repeated(&args.run, &device, || {
        Ok(model.forward(
            &inputs["hidden_states"],
            &inputs["encoder_hidden_states"],
            &inputs["timestep"],
        )?)
    })?;
    write_outputs(&args.out, &HashMap::from([("sample".to_string(), sample)]))?;
    let cfg = model.config();
    eprintln!(
        "transformer: {} layers, in {} -> out {}, {dtype:?} on {:?}; load {load_s:.2} s, {forward}; wrote {}",
        cfg.num_layers,
        cfg.in_channels,
        cfg.out_channels,
        args.run.device,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the T5 encoder once (or `--repeat` times) and writes `last_hidden_state`.
pub fn t5(args: &ParityT5Args) -> anyhow::Result<ExitCode> {
    let (device, dtype) = (device(args.run.device)?, dtype(args.run.dtype));
    let inputs = read_inputs(&args.inputs, &["input_ids"], &device)?;
    let ids = &inputs["input_ids"];
    let (model, load_s) = timed(&device, || {
        Ok(load_t5(&args.config, &args.weights, dtype, &device)?)
    })?;
    let (hidden, forward) = repeated(&args.run, &device, || {
        model
            .forward(ids)
            .with_context(|| args.inputs.display().to_string())
    })?;
    write_outputs(
        &args.out,
        &HashMap::from([("last_hidden_state".to_string(), hidden)]),
    )?;
    let cfg = model.config();
    eprintln!(
        "t5: {} layers, d_model {}, input_ids {:?}, {dtype:?} on {:?}; load {load_s:.2} s, {forward}; wrote {}",
        cfg.num_layers,
        cfg.d_model,
        ids.dims(),
        args.run.device,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The device `--device` names.
fn device(arg: DeviceArg) -> anyhow::Result<Device> {
    Ok(match arg {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::new_cuda(0)
            .context("cannot use the GPU (is this a `cuda` build, and is a GPU there?)")?,
    })
}

/// The dtype `--dtype` names.
fn dtype(arg: DTypeArg) -> DType {
    match arg {
        DTypeArg::F32 => DType::F32,
        DTypeArg::Bf16 => DType::BF16,
    }
}

/// Runs `f`, then waits for `device`; returns its value and the seconds it took.
fn timed<T>(device: &Device, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    let start = Instant::now();
    let value = f()?;
    device.synchronize()?;
    Ok((value, start.elapsed().as_secs_f64()))
}

/// The median of repeated forwards.
struct ForwardTime {
    median_s: f64,
    counted: usize,
}

impl std::fmt::Display for ForwardTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "forward {:.4} s (median of {})",
            self.median_s, self.counted
        )
    }
}

/// Runs `forward` `--repeat` times (at least once), timing each up to the device's completion;
/// the first run is a warm-up, not counted, when there are several. Returns the last output as
/// f32 on the CPU, and the median time.
fn repeated(
    run: &RunArgs,
    device: &Device,
    mut forward: impl FnMut() -> anyhow::Result<Tensor>,
) -> anyhow::Result<(Tensor, ForwardTime)> {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..run.repeat.max(1) {
        let (out, seconds) = timed(device, &mut forward)?;
        times.push(seconds);
        last = Some(out);
    }
    let out = last.context("no forward ran")?;
    let counted = if times.len() > 1 {
        &mut times[1..]
    } else {
        &mut times[..]
    };
    counted.sort_by(f64::total_cmp);
    let time = ForwardTime {
        median_s: counted[counted.len() / 2],
        counted: counted.len(),
    };
    Ok((out.to_dtype(DType::F32)?.to_device(&Device::Cpu)?, time))
}

/// Sets the timesteps and, given a sample, takes one step.
pub fn scheduler(args: &ParitySchedulerArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("{}: cannot read", args.config.display()))?;
    let config =
        SchedulerConfig::from_json(&text).with_context(|| args.config.display().to_string())?;
    let flavour = match args.flavour {
        FlavourArg::Ddim => Flavour::Ddim,
        FlavourArg::Cogvideox => Flavour::CogVideoX,
    };
    let inputs = read_inputs(&args.inputs, &["num_inference_steps"], &Device::Cpu)?;
    let steps = scalar_usize(&inputs["num_inference_steps"]).context("num_inference_steps")?;
    let mut sched = Ddim::new(&config, flavour)?;
    sched.set_timesteps(steps)?;
    let timesteps: Vec<i64> = sched.timesteps().iter().map(|&t| t as i64).collect();
    let mut out = HashMap::from([
        (
            "timesteps".to_string(),
            Tensor::new(timesteps, &Device::Cpu)?,
        ),
        (
            "alphas_cumprod".to_string(),
            Tensor::new(sched.alphas_cumprod(), &Device::Cpu)?,
        ),
    ]);
    if let (Some(sample), Some(output), Some(t)) = (
        inputs.get("sample"),
        inputs.get("model_output"),
        inputs.get("timestep"),
    ) {
        let t = scalar_usize(t).context("timestep")?;
        out.insert("prev_sample".to_string(), sched.step(output, t, sample)?);
    }
    write_outputs(&args.out, &out)?;
    eprintln!(
        "scheduler: {steps} steps ({:?}); wrote {}",
        args.flavour,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A one-element integer or float tensor as a count.
fn scalar_usize(t: &Tensor) -> anyhow::Result<usize> {
    let v = t.flatten_all()?.to_dtype(DType::F64)?.to_vec1::<f64>()?;
    match v.as_slice() {
        [x] if *x >= 0.0 && x.fract() == 0.0 => Ok(*x as usize),
        _ => bail!("expected one non-negative whole number, got {v:?}"),
    }
}

/// Reads the named tensors of a safetensors file onto `device`; each must be there.
fn read_inputs(
    path: &Path,
    names: &[&str],
    device: &Device,
) -> anyhow::Result<HashMap<String, Tensor>> {
    let tensors = candle_core::safetensors::load(path, device)
        .with_context(|| format!("{}: cannot read as safetensors", path.display()))?;
    for name in names {
        if !tensors.contains_key(*name) {
            bail!(
                "{}: no tensor `{name}` (inputs must hold {})",
                path.display(),
                names.join(", ")
            );
        }
    }
    Ok(tensors)
}

/// Writes tensors to a temporary file beside `path`, then renames it over `path`.
fn write_outputs(path: &Path, tensors: &HashMap<String, Tensor>) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(".void-parity.")
        .suffix(".part")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "{}: cannot create a file in {}",
                path.display(),
                dir.display()
            )
        })?
        .into_temp_path();
    candle_core::safetensors::save(tensors, &temp)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    temp.persist(path).with_context(|| {
        format!(
            "{}: cannot move the finished file into place",
            path.display()
        )
    })?;
    Ok(())
}
