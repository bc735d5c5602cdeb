//! `void parity`: one forward pass of one network on inputs from a file, output to a file.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device, Tensor};
use void_schedulers::{Ddim, Flavour, SchedulerConfig};
use void_tokenizer::{LoadOptions, T5Tokenizer};
use void_weights::transformer::load_transformer;

use crate::cli::{
    DTypeArg, DeviceArg, FlavourArg, ParitySchedulerArgs, ParityTokenizeArgs, ParityTransformerArgs,
};

/// Runs the transformer once (or `--repeat` times) and writes `sample`.
pub fn transformer(args: &ParityTransformerArgs) -> anyhow::Result<ExitCode> {
    let device = match args.device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::new_cuda(0)
            .context("cannot use the GPU (is this a `cuda` build, and is a GPU there?)")?,
    };
    let dtype = match args.dtype {
        DTypeArg::F32 => DType::F32,
        DTypeArg::Bf16 => DType::BF16,
    };
    let inputs = read_inputs(
        &args.inputs,
        &["hidden_states", "encoder_hidden_states", "timestep"],
        &device,
    )?;

    let start = Instant::now();
    let model = load_transformer(
        &args.config,
        &args.weights,
        args.in_channels,
        dtype,
        &device,
    )?;
    device.synchronize()?;
    let load_s = start.elapsed().as_secs_f64();

    let mut times = Vec::new();
    let mut sample = None;
    for _ in 0..args.repeat.max(1) {
        let start = Instant::now();
        let out = model.forward(
            &inputs["hidden_states"],
            &inputs["encoder_hidden_states"],
            &inputs["timestep"],
        )?;
        device.synchronize()?;
        times.push(start.elapsed().as_secs_f64());
        sample = Some(out);
    }
    let sample = sample.context("no forward ran")?;
    write_outputs(
        &args.out,
        &HashMap::from([("sample".to_string(), sample.to_device(&Device::Cpu)?)]),
    )?;

    let counted = if times.len() > 1 {
        &mut times[1..]
    } else {
        &mut times[..]
    };
    counted.sort_by(f64::total_cmp);
    let median = counted[counted.len() / 2];
    eprintln!(
        "transformer: {} layers, in {} -> out {}, {:?} on {:?}; load {load_s:.2} s, forward {median:.3} s (median of {}); wrote {}",
        model.config().num_layers,
        model.config().in_channels,
        model.config().out_channels,
        dtype,
        args.device,
        counted.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
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

/// Prints the ids of one text: truncated and padded to `--max-length`, as the pipeline calls
/// the tokenizer.
pub fn tokenize(args: &ParityTokenizeArgs) -> anyhow::Result<ExitCode> {
    let options = LoadOptions {
        legacy: args.legacy,
    };
    let tokenizer = T5Tokenizer::from_dir_with(&args.tokenizer, &options)?;
    let ids = tokenizer.encode(&args.text);
    let input_ids = tokenizer.encode_padded(&args.text, args.max_length);
    if args.json {
        let report = serde_json::json!({
            "input_ids": input_ids,
            "ids": ids,
            "tokens": tokenizer.tokenize(&args.text),
            "max_length": args.max_length,
            "legacy": tokenizer.legacy(),
        });
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let line: Vec<String> = input_ids.iter().map(u32::to_string).collect();
        println!("{}", line.join(" "));
    }
    eprintln!(
        "tokenize: {} ids with </s>; {} after truncation and padding to {} (legacy={})",
        ids.len(),
        input_ids.len(),
        args.max_length,
        tokenizer.legacy()
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
