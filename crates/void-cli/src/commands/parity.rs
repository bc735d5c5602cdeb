//! `void parity`: one forward pass of one network on inputs from a file, output to a file.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device, Tensor};
use void_models::vae::Tiling;
use void_schedulers::{Ddim, Flavour, SchedulerConfig};
use void_tokenizer::{LoadOptions, T5Tokenizer};
use void_weights::t5::load_t5;
use void_weights::transformer::load_transformer;
use void_weights::vae::load_vae;

use super::device;
use crate::cli::{
    DTypeArg, FlavourArg, ParityAttentionArgs, ParitySam2Args, ParitySchedulerArgs, ParityT5Args,
    ParityTokenizeArgs, ParityTransformerArgs, ParityVaeArgs, TileArg,
};

/// Runs the transformer once (or `--repeat` times) and writes `sample`.
pub fn transformer(args: &ParityTransformerArgs) -> anyhow::Result<ExitCode> {
    let run = &args.run;
    let (device, dtype) = (device(run.device)?, dtype(run.dtype));
    let inputs = read_inputs(
        &run.inputs,
        &["hidden_states", "encoder_hidden_states", "timestep"],
        &device,
    )?;
    let (model, load_s) = timed(&device, || {
        load_transformer(
            &args.config,
            &args.weights,
            args.in_channels,
            dtype,
            &device,
        )
    })?;
    let (sample, median, counted) = repeated(run.repeat, &device, || {
        model.forward(
            &inputs["hidden_states"],
            &inputs["encoder_hidden_states"],
            &inputs["timestep"],
        )
    })?;
    write_outputs(&run.out, &HashMap::from([("sample".to_string(), sample)]))?;
    eprintln!(
        "transformer: {} layers, in {} -> out {}, {dtype:?} on {:?}; load {load_s:.2} s, forward {median:.4} s (median of {counted}); wrote {}",
        model.config().num_layers,
        model.config().in_channels,
        model.config().out_channels,
        run.device,
        run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the VAE's encoder (`video` -> `latent`) or decoder (`latent` -> `video`).
pub fn vae(args: &ParityVaeArgs, encode: bool) -> anyhow::Result<ExitCode> {
    let run = &args.run;
    let (device, dtype) = (device(run.device)?, dtype(run.dtype));
    let (input, output) = if encode {
        ("video", "latent")
    } else {
        ("latent", "video")
    };
    let inputs = read_inputs(&run.inputs, &[input], &device)?;
    let x = inputs[input].to_dtype(dtype)?;
    let (model, load_s) = timed(&device, || {
        load_vae(&args.config, &args.weights, dtype, &device)
    })?;
    let tiling = args.tile.map(|tile| match tile {
        TileArg::Auto => Tiling::for_config(model.config()),
        TileArg::Size(tile_height, tile_width) => Tiling {
            tile_height,
            tile_width,
            ..Tiling::for_config(model.config())
        },
    });
    let (y, median, counted) = repeated(run.repeat, &device, || {
        match (&tiling, encode) {
            (None, true) => model.encode(&x, |_, _| ()),
            (None, false) => model.decode(&x, |_, _| ()),
            (Some(t), true) => model.encode_tiled(&x, t, |_, _| ()),
            (Some(t), false) => model.decode_tiled(&x, t, |_, _| ()),
        }
        .with_context(|| format!("{}: `{input}`", run.inputs.display()))
    })?;
    let dims = y.dims().to_vec();
    write_outputs(&run.out, &HashMap::from([(output.to_string(), y)]))?;
    eprintln!(
        "vae {}: {:?} -> {dims:?}{}, {dtype:?} on {:?}; load {load_s:.2} s, run {median:.3} s (median of {counted}); wrote {}",
        if encode { "encode" } else { "decode" },
        x.dims(),
        match &tiling {
            Some(t) => format!(" in {}x{} tiles", t.tile_height, t.tile_width),
            None => String::new(),
        },
        run.device,
        run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the T5 encoder once (or `--repeat` times) and writes `last_hidden_state`.
pub fn t5(args: &ParityT5Args) -> anyhow::Result<ExitCode> {
    let run = &args.run;
    let (device, dtype) = (device(run.device)?, dtype(run.dtype));
    let inputs = read_inputs(&run.inputs, &["input_ids"], &device)?;
    let ids = &inputs["input_ids"];
    let (model, load_s) = timed(&device, || {
        load_t5(&args.config, &args.weights, dtype, &device)
    })?;
    let (hidden, median, counted) = repeated(run.repeat, &device, || {
        model
            .forward(ids)
            .with_context(|| run.inputs.display().to_string())
    })?;
    write_outputs(
        &run.out,
        &HashMap::from([("last_hidden_state".to_string(), hidden)]),
    )?;
    let cfg = model.config();
    eprintln!(
        "t5: {} layers, d_model {}, input_ids {:?}, {dtype:?} on {:?}; load {load_s:.2} s, forward {median:.4} s (median of {counted}); wrote {}",
        cfg.num_layers,
        cfg.d_model,
        ids.dims(),
        run.device,
        run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs attention once (or `--repeat` times) and writes `out`.
pub fn attention(args: &ParityAttentionArgs) -> anyhow::Result<ExitCode> {
    let run = &args.run;
    let (device, dtype) = (device(run.device)?, dtype(run.dtype));
    let inputs = read_inputs(&run.inputs, &["q", "k", "v"], &device)?;
    let [q, k, v] = ["q", "k", "v"].map(|name| inputs[name].to_dtype(dtype));
    let (q, k, v) = (q?, k?, v?);
    let scale = 1.0
        / (q.dim(3)
            .with_context(|| format!("{}: `q`", run.inputs.display()))? as f64)
            .sqrt();
    let (out, median, counted) = repeated(run.repeat, &device, || {
        void_models::ops::attention::sdpa(&q, &k, &v, scale)
            .with_context(|| run.inputs.display().to_string())
    })?;
    write_outputs(&run.out, &HashMap::from([("out".to_string(), out)]))?;
    eprintln!(
        "attention: q {:?}, k {:?}, {dtype:?} on {:?}; forward {median:.5} s (median of {counted}); wrote {}",
        q.dims(),
        k.dims(),
        run.device,
        run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Which part of SAM2 `void parity sam2-*` runs.
#[derive(Clone, Copy, Debug)]
pub enum Sam2Part {
    /// The image encoder.
    Encode,
    /// A prompted first frame.
    Prompt,
    /// Propagation through a clip.
    Video,
}

/// Runs a part of SAM2 (f32) and writes its outputs.
pub fn sam2(args: &ParitySam2Args, part: Sam2Part) -> anyhow::Result<ExitCode> {
    let run = &args.run;
    if run.dtype != DTypeArg::F32 {
        bail!("void parity sam2-*: f32 only (SAM2 runs in f32, as the reference's stage 1)");
    }
    let device = device(run.device)?;
    let (model, load_s) = timed(&device, || {
        void_weights::sam2::load_sam2(&args.weights, Some(&args.config), args.fill_holes, &device)
    })?;
    let points = |inputs: &HashMap<String, Tensor>| -> anyhow::Result<(Tensor, Tensor)> {
        Ok((
            inputs["point_coords"].to_dtype(DType::F32)?,
            inputs["point_labels"].to_dtype(DType::F32)?,
        ))
    };
    let named = |items: Vec<(String, Tensor)>| -> anyhow::Result<HashMap<String, Tensor>> {
        items
            .into_iter()
            .map(|(k, t)| Ok((k, t.to_dtype(DType::F32)?.to_device(&Device::Cpu)?)))
            .collect()
    };
    let start = Instant::now();
    let outputs = match part {
        Sam2Part::Encode => {
            let inputs = read_inputs(&run.inputs, &["image"], &device)?;
            let f = model.encode_image(&inputs["image"])?;
            let mut items = Vec::new();
            for (i, t) in f.trunk.iter().enumerate() {
                items.push((format!("trunk.stage{}", i + 1), t.clone()));
            }
            for (i, (fpn, pos)) in f.fpn.iter().zip(&f.positions).enumerate() {
                items.push((format!("neck.backbone_fpn.{i}"), fpn.clone()));
                items.push((format!("vision_pos_enc.{i}"), pos.clone()));
            }
            for (i, t) in f.high_res.iter().enumerate() {
                items.push((format!("high_res.{i}"), t.clone()));
            }
            named(items)?
        }
        Sam2Part::Prompt => {
            let inputs = read_inputs(
                &run.inputs,
                &["image", "point_coords", "point_labels"],
                &device,
            )?;
            let (coords, labels) = points(&inputs)?;
            let f = model.encode_image(&inputs["image"])?;
            let out = model.prompt(
                &f,
                void_models::sam2::Points {
                    coords: &coords,
                    labels: &labels,
                },
            )?;
            named(vec![
                ("pred_masks".into(), out.pred_masks),
                ("obj_ptr".into(), out.obj_ptr),
                ("object_score_logits".into(), out.object_score_logits),
                ("maskmem_features".into(), out.memory),
            ])?
        }
        Sam2Part::Video => {
            let inputs = read_inputs(
                &run.inputs,
                &["frames", "point_coords", "point_labels", "prompt_frame"],
                &device,
            )?;
            let frames = &inputs["frames"];
            let n = frames.dim(0)?;
            let prompt_frame = scalar_usize(&inputs["prompt_frame"]).context("prompt_frame")?;
            if prompt_frame >= n {
                bail!("prompt_frame {prompt_frame} is not one of the {n} frames");
            }
            // The same driver as `void mask segment`, on frames already at the model's size
            // (so the points, in model pixels, are video pixels too).
            let (coords, labels) = points(&inputs)?;
            let prompt = void_mask::FramePrompt::from_sam2_points(
                &coords.flatten_all()?.to_vec1::<f32>()?,
                &labels.flatten_all()?.to_vec1::<f32>()?,
            )?;
            let mut prompts = void_mask::Prompts::default();
            prompts.objects.insert(
                1,
                std::collections::BTreeMap::from([(prompt_frame, prompt)]),
            );
            let bytes: Vec<Vec<u8>> = (0..n)
                .map(|i| {
                    frames
                        .get(i)?
                        .to_dtype(DType::U8)?
                        .flatten_all()?
                        .to_vec1::<u8>()
                })
                .collect::<candle_core::Result<_>>()?;
            let mut source =
                || -> void_mask::Result<Box<dyn Iterator<Item = void_mask::Result<Vec<u8>>>>> {
                    Ok(Box::new(bytes.clone().into_iter().map(Ok)))
                };
            let s = model.image_size();
            let seg =
                void_mask::segment(&model, &mut source, n, (s, s), &prompts, &device, |_| {})?;
            let masks = &seg.objects[0].1;
            named(vec![("pred_masks".into(), Tensor::cat(masks, 0)?)])?
        }
    };
    device.synchronize()?;
    let forward_s = start.elapsed().as_secs_f64();
    write_outputs(&run.out, &outputs)?;
    eprintln!(
        "sam2 {part:?}: load {load_s:.2} s, forward {forward_s:.3} s on {:?}; wrote {}",
        run.device,
        run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The dtype asked for.
fn dtype(arg: DTypeArg) -> DType {
    match arg {
        DTypeArg::F32 => DType::F32,
        DTypeArg::Bf16 => DType::BF16,
    }
}

/// Runs `f` once and returns its value and the seconds it took (device work included).
fn timed<T, E>(device: &Device, f: impl FnOnce() -> Result<T, E>) -> anyhow::Result<(T, f64)>
where
    anyhow::Error: From<E>,
{
    let start = Instant::now();
    let value = f()?;
    device.synchronize()?;
    Ok((value, start.elapsed().as_secs_f64()))
}

/// Runs `f` `repeat` times (at least once); returns the last output (f32 on the CPU), the
/// median seconds and how many runs that median counts (the first is a warm-up when there are
/// several).
fn repeated<E>(
    repeat: usize,
    device: &Device,
    mut f: impl FnMut() -> Result<Tensor, E>,
) -> anyhow::Result<(Tensor, f64, usize)>
where
    anyhow::Error: From<E>,
{
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let (out, seconds) = timed(device, &mut f)?;
        times.push(seconds);
        last = Some(out);
    }
    let out = last
        .context("no run")?
        .to_dtype(DType::F32)?
        .to_device(&Device::Cpu)?;
    let counted = if times.len() > 1 {
        &mut times[1..]
    } else {
        &mut times[..]
    };
    counted.sort_by(f64::total_cmp);
    Ok((out, counted[counted.len() / 2], counted.len()))
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
