//! `void remove`: Pass 1 over one or many sequences, models loaded once.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use candle_core::{DType, Device};
use void_models::ops::linear::WeightStorage;
use void_models::vae::Tiling;
use void_pipeline::{Loader, Models, Noise, Pass1, Pass1Options, Resident, pass1_tensors};
use void_schedulers::SchedulerConfig;
use void_sequence::{Layout, Sequence, load_pass1_inputs, write_composite, write_outputs};
use void_tokenizer::T5Tokenizer;
use void_video::Ffmpeg;

use crate::cli::{DTypeArg, MemoryMode, RemoveArgs, RemoveDevice, TileArg};
use crate::commands::expand;
use crate::progress::{DecodeBars, PassBars};

/// Runs Pass 1 on every sequence named; one failing sequence does not stop the others.
pub fn run(ffmpeg: &Ffmpeg, args: &RemoveArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let layout = if args.reference_layout {
        Layout::Reference
    } else {
        Layout::Trimmed
    };
    let sequences = expand(&args.paths, &args.seqs);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create the output folder", args.out.display()))?;

    // Work out what to do before loading 20 GB of weights.
    let mut rows: Vec<Row> = Vec::new();
    let mut todo = Vec::new();
    for seq in sequences {
        match seq {
            Ok(seq) if !args.overwrite && layout.done(&args.out, &seq.name) => rows.push(Row {
                name: seq.name.clone(),
                status: "skipped (outputs exist; --overwrite redoes)".into(),
                seconds: 0.0,
            }),
            Ok(seq) => todo.push(seq),
            Err(e) => rows.push(Row {
                name: "?".into(),
                status: format!("failed: {e}"),
                seconds: 0.0,
            }),
        }
    }
    if !todo.is_empty() {
        let (device, dtype) = device_and_dtype(args)?;
        let start = Instant::now();
        let pass1 = Pass1::new(load_models(args, &device, dtype)?, device.clone(), dtype);
        eprintln!(
            "models {} in {:.1} s ({dtype:?} on {}, --memory {:?})",
            if args.memory == MemoryMode::Full {
                "loaded"
            } else {
                "found"
            },
            start.elapsed().as_secs_f64(),
            if device.is_cuda() {
                "the GPU"
            } else {
                "the CPU"
            },
            args.memory
        );
        let options = pass_options(args, pass1.models())?;
        for seq in &todo {
            let start = Instant::now();
            let status = match remove_one(ffmpeg, &pass1, seq, args, &options, layout, quiet) {
                Ok(paths) => format!("done: {}", paths.video.display()),
                Err(e) => {
                    eprintln!("error: {}: {e:#}", seq.name);
                    format!("failed: {e:#}")
                }
            };
            rows.push(Row {
                name: seq.name.clone(),
                status,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
    }
    print_summary(&rows);
    let failed = rows.iter().any(|r| r.status.starts_with("failed"));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One line of the summary table.
struct Row {
    name: String,
    status: String,
    seconds: f64,
}

fn print_summary(rows: &[Row]) {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(8).max(8);
    eprintln!("{:width$}  {:>8}  result", "sequence", "seconds");
    for r in rows {
        eprintln!("{:width$}  {:>8.1}  {}", r.name, r.seconds, r.status);
    }
}

/// Preprocess, run, write; prints the stage times.
fn remove_one(
    ffmpeg: &Ffmpeg,
    pass1: &Pass1,
    seq: &Sequence,
    args: &RemoveArgs,
    options: &Pass1Options,
    layout: Layout,
    quiet: bool,
) -> anyhow::Result<void_sequence::OutputPaths> {
    let mut prep = args.prep.options();
    prep.window_frames = args.window_frames;
    let start = Instant::now();
    let mut bars = DecodeBars::new(&seq.name, quiet);
    let inputs = load_pass1_inputs(ffmpeg, seq, &prep, &mut |p| bars.update(p));
    bars.finish();
    let inputs = inputs?;
    for w in &inputs.warnings {
        eprintln!("warning: {}: {w}", seq.name);
    }
    let prep_s = start.elapsed().as_secs_f64();

    let (video, mask) = pass1_tensors(&inputs)?;
    let (f, _, h, w) = video.dims4()?;
    let latents = pass1.latent_shape(f, h, w).to_vec();
    let noise = Noise::seeded(args.seed, latents, (1, 3, f, h, w))?;
    let mut bars = PassBars::new(&seq.name, quiet);
    let frames = pass1.run(&video, &mask, &inputs.prompt, &noise, options, &mut bars)?;

    let write_start = Instant::now();
    let paths = layout.paths(&args.out, &seq.name);
    let frames: Vec<f32> = frames.flatten_all()?.to_vec1()?;
    // The composite first: the main outputs mark the sequence done.
    if args.composite {
        let name = paths
            .video
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned());
        let path = paths
            .video
            .with_file_name(format!("{}_composite.mp4", name.unwrap_or_default()));
        write_composite(ffmpeg, &inputs, &frames, &path, args.feather, args.crf)?;
    }
    write_outputs(ffmpeg, &inputs, &frames, &paths, layout, args.crf)?;
    let write_s = write_start.elapsed().as_secs_f64();

    let stages: Vec<String> = std::iter::once(format!("read + preprocess {prep_s:.1} s"))
        .chain(
            bars.times
                .iter()
                .map(|(s, t)| format!("{} {t:.1} s", s.name())),
        )
        .chain(std::iter::once(format!("write {write_s:.1} s")))
        .collect();
    eprintln!(
        "{}: {} frames ({} padded) at {}, {} steps; {}; total {:.1} s",
        seq.name,
        inputs.source.video_frames.min(f),
        f,
        inputs.sample_size,
        options.steps,
        stages.join(", "),
        start.elapsed().as_secs_f64()
    );
    Ok(paths)
}

fn device_and_dtype(args: &RemoveArgs) -> anyhow::Result<(Device, DType)> {
    let device = match args.device {
        RemoveDevice::Cpu => Device::Cpu,
        RemoveDevice::Cuda => Device::new_cuda(0)
            .context("cannot use the GPU (is this a `cuda` build, and is a GPU there?)")?,
        RemoveDevice::Auto => Device::cuda_if_available(0).unwrap_or(Device::Cpu),
    };
    let dtype = match (args.dtype, device.is_cuda()) {
        (Some(DTypeArg::F32), _) | (None, false) => DType::F32,
        (Some(DTypeArg::Bf16), false) => {
            bail!("--dtype bf16 needs the GPU: candle has no bf16 matrix products on the CPU")
        }
        (Some(DTypeArg::Bf16), true) | (None, true) => DType::BF16,
    };
    Ok((device, dtype))
}

/// The base model folder and the Pass-1 checkpoint, from `--model-dir` / `--transformer`.
fn model_paths(args: &RemoveArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = match &args.model_dir {
        Some(d) => d.clone(),
        None => void_hub::default_dir()
            .context("no --model-dir given, and no VOID_HOME or HOME to find the default")?,
    };
    let base = if dir.join("transformer/config.json").is_file() {
        dir.clone()
    } else {
        dir.join(void_hub::BASE_DIR_NAME)
    };
    if !base.join("transformer/config.json").is_file() {
        bail!(
            "{}: no base model here (expected {}/transformer/config.json); run `void download` or \
             pass --model-dir with the folder holding transformer/, vae/, text_encoder/, \
             tokenizer/ and scheduler/",
            dir.display(),
            base.display()
        );
    }
    let transformer = match &args.transformer {
        Some(t) => t.clone(),
        None => [
            dir.join("void_pass1.safetensors"),
            base.with_file_name("void_pass1.safetensors"),
        ]
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no void_pass1.safetensors in {} or beside {}; run `void download` or pass \
                     --transformer",
                dir.display(),
                base.display()
            )
        })?,
    };
    Ok((base, transformer))
}

fn load_models(args: &RemoveArgs, device: &Device, dtype: DType) -> anyhow::Result<Models> {
    let (base, transformer) = model_paths(args)?;
    let scheduler_file = base.join("scheduler/scheduler_config.json");
    let scheduler = std::fs::read_to_string(&scheduler_file)
        .with_context(|| format!("{}: cannot read", scheduler_file.display()))?;
    let (_, vae_config) = void_weights::vae::read_vae_config(&base)?;
    let keep = args.memory == MemoryMode::Full;
    let storage = if args.memory == MemoryMode::Low {
        WeightStorage::Fp8E4M3
    } else {
        WeightStorage::Native
    };
    let (b, d) = (base.clone(), device.clone());
    let text_encoder = resident(
        keep,
        Box::new(move || {
            Ok(void_weights::t5::load_t5(
                &b,
                &b.join("text_encoder"),
                dtype,
                &d,
            )?)
        }),
    )?;
    let (b, d) = (base.clone(), device.clone());
    let vae = resident(
        keep,
        Box::new(move || Ok(void_weights::vae::load_vae(&b, &b.join("vae"), dtype, &d)?)),
    )?;
    if !keep {
        // On-demand networks load when their stage begins, the transformer after the VAE has
        // encoded: read its files now, on a thread, so the disk works while T5 and the VAE do
        // and the load finds them in the page cache. A failure here changes nothing: the load
        // itself reports it.
        let path = transformer.clone();
        std::thread::spawn(move || void_weights::prefetch(&path));
    }
    let (b, d) = (base.clone(), device.clone());
    let transformer = resident(
        keep,
        Box::new(move || {
            Ok(void_weights::transformer::load_transformer_with(
                &b,
                &transformer,
                None,
                dtype,
                &d,
                storage,
            )?)
        }),
    )?;
    Ok(Models {
        tokenizer: T5Tokenizer::from_dir(base.join("tokenizer"))?,
        text_encoder,
        vae,
        vae_config,
        transformer,
        scheduler: SchedulerConfig::from_json(&scheduler)
            .with_context(|| scheduler_file.display().to_string())?,
    })
}

/// Loads now and keeps (`keep`), or loads on each use.
fn resident<T>(keep: bool, load: Loader<T>) -> anyhow::Result<Resident<T>> {
    Ok(if keep {
        Resident::Kept(load().map_err(|e| anyhow::anyhow!(e))?)
    } else {
        Resident::OnDemand(load)
    })
}

fn pass_options(args: &RemoveArgs, models: &Models) -> anyhow::Result<Pass1Options> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let tile = match (args.vae_tile, args.memory) {
        (None, MemoryMode::Low) => Some(TileArg::Auto),
        (tile, _) => tile,
    };
    let tiling = tile.map(|tile| match tile {
        TileArg::Auto => Tiling::for_config(&models.vae_config),
        TileArg::Size(tile_height, tile_width) => Tiling {
            tile_height,
            tile_width,
            ..Tiling::for_config(&models.vae_config)
        },
    });
    Ok(Pass1Options {
        steps: args.steps,
        guidance_scale: args.guidance,
        negative_prompt: args.negative_prompt.clone(),
        window_frames: args.window_frames,
        stride_frames: args.stride_frames,
        noise_aug_strength: args.noise_aug,
        tiling,
        ..Pass1Options::default()
    })
}
