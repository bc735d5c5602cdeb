//! Command-line definition.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use void_prep::SampleSize;
use void_sequence::Selection;

/// Remove an object from a video, and everything the object causes: its shadow, its
/// reflection, the things it moves. A Rust implementation of Netflix's VOID.
///
/// A sequence is a folder holding input_video.mp4, a quadmask (quadmask_0.mp4,
/// quadmask_*.mp4 or trimask_quadmask.mp4: 0 remove, 63 overlap, 127 affected, 255 keep) and
/// prompt.json ({"bg": "the scene after removal"}). A data root is a folder of sequences.
#[derive(Debug, Parser)]
#[command(name = "void", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// The ffmpeg executable to decode and encode with (5.1 or newer). A static build works
    /// on machines without libav.
    #[arg(
        long,
        global = true,
        env = "VOID_FFMPEG",
        default_value = "ffmpeg",
        value_name = "PATH"
    )]
    pub ffmpeg: PathBuf,

    /// No progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe sequences: video and mask streams, mask classes, prompt, the frames Pass 1
    /// will use, and anything suspicious.
    Inspect(InspectArgs),
    /// Write exactly the tensors Pass 1 consumes (`video` [F,3,H,W] and `mask` [F,1,H,W], f32)
    /// to a safetensors file, to diff against the reference implementation.
    Preprocess(PreprocessArgs),
    /// Remove the masked object and what it causes: Pass 1 of VOID on one sequence or on every
    /// sequence of a data root, models loaded once. Writes <seq>.mp4 and <seq>_tuple.mp4 (input
    /// | mask | output | difference) to --out; sequences whose outputs exist are skipped.
    Remove(RemoveArgs),
    /// Download the model files from the Hugging Face Hub: the CogVideoX-Fun-V1.5-5b-InP base
    /// model (without the transformer weights, which the VOID checkpoints replace) and the
    /// VOID checkpoints. Interrupted downloads resume; files already there are kept.
    Download(DownloadArgs),
    /// Make the masks `void remove` takes: `void mask build VIDEO --out SEQ ...` makes a
    /// sequence folder (input_video.mp4, quadmask_0.mp4, prompt.json) from clicks or boxes;
    /// `void mask segment` only tracks the object (SAM2) and writes its black mask.
    #[command(subcommand)]
    Mask(MaskCommand),
    /// Run one network on given inputs and save its output, to check void against any
    /// reference implementation.
    #[command(subcommand)]
    Parity(ParityCommand),
}

/// `void mask build VIDEO --out SEQ`: segment, the affected (grey) region, combine; writes
/// SEQ/input_video.mp4 (a copy), SEQ/black_mask.mp4, SEQ/grey_mask.mp4, SEQ/quadmask_0.mp4,
/// SEQ/prompt.json and SEQ/segmentation_info.json.
#[derive(Debug, Args)]
pub struct MaskSequenceArgs {
    /// Segmentation (as `void mask segment`; --out is the sequence folder).
    #[command(flatten)]
    pub segment: MaskSegmentArgs,

    /// Where the affected (grey, 127) region comes from: `none` (nothing besides the object
    /// changes: logos, subtitles, objects without shadow), or `cells` (--affected-cells). The
    /// VLM stage that reasons about shadows, reflections and moved objects is not built yet.
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub affected: Option<AffectedArg>,

    /// Affected grid cells by hand: "FRAMES:ROW,COL[;ROW,COL...]" with FRAMES `A-B`, `A` or
    /// `all`, cells of the reference's grid (rows x cols with --min-grid cells on the short
    /// side; `void mask` prints the grid). Repeatable.
    #[arg(long = "affected-cells", value_name = "SPEC")]
    pub affected_cells: Vec<String>,

    /// Cells on the short side of the grid.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub min_grid: usize,

    /// The scene after the removal, for prompt.json ({"bg": ...}).
    #[arg(long, value_name = "TEXT")]
    pub bg: Option<String>,

    /// Replace the sequence folder's files if they exist (input_video.mp4 is never replaced by
    /// a different video).
    #[arg(long)]
    pub force: bool,
}

/// Where the grey region comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AffectedArg {
    /// No affected region.
    None,
    /// The cells of --affected-cells.
    Cells,
}

/// `void mask ...`.
#[derive(Debug, Subcommand)]
pub enum MaskCommand {
    /// Make a sequence folder `void remove` takes: segment the object (as `void mask segment`),
    /// add the affected region (none, or grid cells by hand; the VLM stage is not built yet),
    /// combine them into quadmask_0.mp4 as the reference's stage 4, copy the video in as
    /// input_video.mp4 and write prompt.json. Never replaces a different input_video.mp4.
    Build(MaskSequenceArgs),
    /// Segment the object(s) to remove with SAM2 from clicks and boxes: every prompted frame
    /// conditions the tracker, which runs forward to the last frame and backward to the first.
    /// Writes DIR/black_mask.mp4 (0 object, 255 elsewhere; exactly one frame per input frame,
    /// lossless, at the input's fps) and DIR/segmentation_info.json, as the reference's stage 1.
    Segment(MaskSegmentArgs),
}

/// `void mask segment`.
#[derive(Debug, Args)]
pub struct MaskSegmentArgs {
    /// The video.
    #[arg(value_name = "VIDEO")]
    pub video: PathBuf,

    /// The folder to write into (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Clicks: "[OBJ@]FRAME:X,Y[:+|-];..." in source pixels (+ on the object, the default;
    /// - not on it), object 1 unless OBJ is given. Repeatable.
    #[arg(long = "points", value_name = "SPEC")]
    pub points: Vec<String>,

    /// A box around the object: "[OBJ@]FRAME:X0,Y0,X1,Y1" in source pixels. Repeatable.
    #[arg(long = "box", value_name = "SPEC")]
    pub boxes: Vec<String>,

    /// The reference's `*_points.json` (from its click GUI), used unchanged: all clicks on
    /// object 1, plus its automatic box per clicked frame. With several entries, the one whose
    /// video_path names this video's file.
    #[arg(long, value_name = "FILE")]
    pub points_json: Option<PathBuf>,

    /// With --points-json: no automatic box from the clicks.
    #[arg(long)]
    pub no_auto_box: bool,

    /// The SAM2 checkpoint: an official .pt (sam2.1_hiera_large.pt, sam2_hiera_tiny.pt, ...)
    /// or a safetensors file with the same keys.
    #[arg(long, env = "VOID_SAM2_CHECKPOINT", value_name = "FILE")]
    pub sam2_checkpoint: PathBuf,

    /// The SAM2 architecture: sam2.1_hiera_t|s|b+|l, sam2_hiera_t|s|b+|l, or a JSON file (the
    /// `model` section of a sam2 config). Default: from the checkpoint's file name.
    #[arg(long, value_name = "NAME|FILE")]
    pub sam2_config: Option<String>,

    /// Background holes up to this many pixels of the 256x256 mask are filled, as the
    /// reference's CUDA installs do (0: off, as its CPU installs do).
    #[arg(long, default_value_t = 8, value_name = "PIXELS")]
    pub fill_holes: usize,

    /// Also write black_mask_<OBJ>.mp4 for each object (the union is always written).
    #[arg(long)]
    pub per_object: bool,

    /// The instruction to record in segmentation_info.json (e.g. "remove the person").
    #[arg(long, default_value = "")]
    pub instruction: String,

    /// Where to run SAM2.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
}

/// `void download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The folder to download into: DIR/CogVideoX-Fun-V1.5-5b-InP/ (the base model, laid out
    /// as on the Hub), DIR/void_pass1.safetensors and DIR/void_pass2.safetensors. Default:
    /// $VOID_HOME, else $XDG_CACHE_HOME/void, else ~/.cache/void.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Revision of the base model: a branch, tag or commit id.
    #[arg(long, default_value = "main", value_name = "REV")]
    pub revision: String,

    /// Revision of the VOID checkpoints (netflix/void-model).
    #[arg(long, default_value = "main", value_name = "REV")]
    pub void_revision: String,

    /// Leave out void_pass2.safetensors, the Pass 2 (warped-noise refinement) checkpoint.
    #[arg(long)]
    pub no_pass2: bool,

    /// Use no network: check that every file is there (with the size the last download
    /// recorded), list what is missing and exit with status 1 if anything is.
    #[arg(long, env = "HF_HUB_OFFLINE", value_parser = clap::builder::FalseyValueParser::new())]
    pub offline: bool,

    /// The Hub to download from. A token in $HF_TOKEN is sent to it (never to the CDN it
    /// redirects large files to).
    #[arg(
        long,
        env = "HF_ENDPOINT",
        default_value = void_hub::DEFAULT_ENDPOINT,
        value_name = "URL"
    )]
    pub endpoint: String,
}

/// `void parity ...`: one forward pass of one network.
#[derive(Debug, Subcommand)]
pub enum ParityCommand {
    /// The VOID transformer. Inputs (safetensors): `hidden_states` [B,F,C,H,W] with all input
    /// channels already concatenated, `encoder_hidden_states` [B,L,D], `timestep` [B] (i64 or
    /// f32). Output: `sample` [B,F,Cout,H,W] f32. RoPE is computed from the shapes.
    Transformer(ParityTransformerArgs),
    /// A DDIM scheduler. Inputs (safetensors): `num_inference_steps` (one integer), and
    /// optionally `sample`, `model_output` and `timestep` for one step. Output: `timesteps` (i64),
    /// `alphas_cumprod` (f64) and, with the optional inputs, `prev_sample` (f32).
    Scheduler(ParitySchedulerArgs),
    /// The VAE encoder. Input (safetensors): `video` [B,3,F,H,W] in [-1,1], H and W multiples
    /// of 8. Output: `latent` [B,16,F',H/8,W/8] f32, the posterior mean before scaling, coded in
    /// the reference's chunks of frames (13, 8, 8, ...).
    VaeEncode(ParityVaeArgs),
    /// The VAE decoder. Input (safetensors): `latent` [B,16,F',h,w], unscaled. Output: `video`
    /// [B,3,F,8h,8w] f32, decoded in VOID's chunks of latent frames (1, 2, 2, ...).
    VaeDecode(ParityVaeArgs),
    /// The T5 text encoder. Inputs (safetensors): `input_ids` [B,L] integer token ids (VOID:
    /// 226 per prompt, padded with 0, no attention mask). Output: `last_hidden_state`
    /// [B,L,d_model] f32.
    T5(ParityT5Args),
    /// Scaled dot-product attention as the transformer runs it: the fused kernel on CUDA for
    /// bf16 heads of 64, the chunked path otherwise. Inputs (safetensors): `q` [B,H,Sq,D], `k`
    /// and `v` [B,H,Sk,D]. Output: `out` [B,H,Sq,D] f32, softmax(q kᵀ / √D) v.
    Attention(ParityAttentionArgs),
    /// The T5 tokenizer: prints the ids of one text as the pipeline computes them
    /// (`padding="max_length", truncation=True`: the text's ids, `</s>`, then pad ids).
    Tokenize(ParityTokenizeArgs),
    /// SAM2's image encoder: `image` [1,3,S,S] (normalised) in; `trunk.stage1..4`,
    /// `neck.backbone_fpn.0..2`, `vision_pos_enc.0..2`, `high_res.0..1` out.
    Sam2Encode(ParitySam2Args),
    /// SAM2 on a prompted first frame: `image`, `point_coords` [1,N,2] (model pixels; box
    /// corners first, labels 2 and 3), `point_labels` [1,N] in; `pred_masks`, `obj_ptr`,
    /// `object_score_logits`, `maskmem_features` out.
    Sam2Prompt(ParitySam2Args),
    /// SAM2 video propagation: `frames` [T,S,S,3] u8 (resized), `point_coords`, `point_labels`,
    /// `prompt_frame` in; tracked forward to the end and backward to frame 0; `pred_masks`
    /// [T,1,S/4,S/4] out.
    Sam2Video(ParitySam2Args),
}

/// `void parity tokenize`.
#[derive(Debug, Args)]
pub struct ParityTokenizeArgs {
    /// The tokenizer folder (the base model's tokenizer/: spiece.model and its JSON files, or
    /// a tokenizer.json).
    #[arg(long, value_name = "DIR")]
    pub tokenizer: PathBuf,
    /// The text to tokenize.
    #[arg(long, allow_hyphen_values = true)]
    pub text: String,
    /// Truncate to, and pad to, this many ids (226 in the pipeline; 0: neither).
    #[arg(long, default_value_t = 226, value_name = "N")]
    pub max_length: usize,
    /// Override the folder's `legacy` setting (transformers' `legacy=` argument).
    #[arg(long, value_name = "BOOL")]
    pub legacy: Option<bool>,
    /// Print JSON: `input_ids` (padded), `ids` (unpadded, with `</s>`), `tokens`.
    #[arg(long)]
    pub json: bool,
}

/// Which diffusers scheduler class to reproduce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FlavourArg {
    /// `DDIMScheduler`, which Pass 1 uses.
    Ddim,
    /// `CogVideoXDDIMScheduler`, which Pass 2 uses.
    Cogvideox,
}

/// `void parity scheduler`.
#[derive(Debug, Args)]
pub struct ParitySchedulerArgs {
    /// `scheduler/scheduler_config.json` of the base model.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Which scheduler class.
    #[arg(long, value_enum, default_value = "ddim")]
    pub flavour: FlavourArg,
    /// The inputs (safetensors).
    #[arg(long, value_name = "FILE")]
    pub inputs: PathBuf,
    /// Where to write the outputs (safetensors). Replaced if it exists.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Numeric type of the weights and activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DTypeArg {
    /// 32-bit float.
    F32,
    /// bfloat16 (what the reference runs on the GPU).
    Bf16,
}

/// Where to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (needs a binary built with the `cuda` feature).
    Cuda,
}

/// `void parity sam2-*`.
#[derive(Debug, Args)]
pub struct ParitySam2Args {
    /// The architecture: a preset (sam2.1_hiera_l, ...) or a JSON config.
    #[arg(long, value_name = "NAME|FILE")]
    pub config: String,
    /// The checkpoint (.pt or .safetensors, official key names).
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,
    /// Hole filling of the masks, in pixels (0: off, as the sam2 package on a CPU).
    #[arg(long, default_value_t = 0, value_name = "PIXELS")]
    pub fill_holes: usize,
    #[command(flatten)]
    pub run: ParityRunArgs,
}

/// Options every network's `void parity` command shares: inputs, output, numeric type,
/// device and timing.
#[derive(Debug, Args)]
pub struct ParityRunArgs {
    /// The inputs (safetensors).
    #[arg(long, value_name = "FILE")]
    pub inputs: PathBuf,
    /// Where to write the output (safetensors). Replaced if it exists.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Weight and activation type.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: DTypeArg,
    /// Where to run.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Run the forward this many times and report the median time (the first run is a warm-up
    /// and not counted when more than one).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
}

/// `void parity transformer`.
#[derive(Debug, Args)]
pub struct ParityTransformerArgs {
    /// The transformer's config.json (or a base-model folder holding transformer/config.json).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// The weights: a .safetensors file (e.g. void_pass1.safetensors), a sharded
    /// *.safetensors.index.json, or a folder holding either.
    #[arg(long, value_name = "PATH")]
    pub weights: PathBuf,
    /// Input channels, if not those of the checkpoint: 48 widens the base model's 33-channel
    /// patch embedding the way the reference does.
    #[arg(long, value_name = "N")]
    pub in_channels: Option<usize>,
    #[command(flatten)]
    pub run: ParityRunArgs,
}

/// `void parity attention`.
#[derive(Debug, Args)]
pub struct ParityAttentionArgs {
    #[command(flatten)]
    pub run: ParityRunArgs,
}

/// `void parity t5`.
#[derive(Debug, Args)]
pub struct ParityT5Args {
    /// The text encoder's config.json (or a base-model folder holding text_encoder/config.json).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// The weights: a .safetensors file, a sharded model.safetensors.index.json, or a folder
    /// holding either (e.g. the base model's text_encoder/).
    #[arg(long, value_name = "PATH")]
    pub weights: PathBuf,
    #[command(flatten)]
    pub run: ParityRunArgs,
}

/// `void parity vae-encode` and `vae-decode`.
#[derive(Debug, Args)]
pub struct ParityVaeArgs {
    /// The VAE's config.json (or the vae/ folder, or the base-model folder).
    #[arg(long, value_name = "PATH")]
    pub config: PathBuf,
    /// The weights: a .safetensors file or the vae/ folder.
    #[arg(long, value_name = "PATH")]
    pub weights: PathBuf,
    /// Code in spatial tiles of HEIGHTxWIDTH video pixels (the reference's overlaps of 1/6 and
    /// 1/5), to bound memory at large sizes. `auto` takes half the VAE's training size
    /// (240x360). Default: untiled, as the reference runs.
    #[arg(long, value_name = "HxW|auto")]
    pub tile: Option<TileArg>,
    #[command(flatten)]
    pub run: ParityRunArgs,
}

/// A tile size for tiled VAE coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileArg {
    /// Half the VAE's training size.
    Auto,
    /// Height and width in video pixels.
    Size(usize, usize),
}

impl std::str::FromStr for TileArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(Self::Auto);
        }
        let parsed = s
            .split_once('x')
            .and_then(|(h, w)| Some((h.parse::<usize>().ok()?, w.parse::<usize>().ok()?)));
        match parsed {
            Some((h, w)) if h > 0 && w > 0 => Ok(Self::Size(h, w)),
            _ => Err(format!(
                "`{s}`: expected HEIGHTxWIDTH (e.g. 240x360) or auto"
            )),
        }
    }
}

/// `void remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Sequence folders, or data roots whose sequence folders are all processed.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// In data roots, only these sequences: `a,b,c` or a part such as `2/4`. Default: all.
    #[arg(long, default_value = "", value_name = "LIST")]
    pub seqs: Selection,

    /// Where the outputs go (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,

    /// The models folder: either the base model folder itself (holding transformer/, vae/,
    /// text_encoder/, tokenizer/, scheduler/) or a folder holding CogVideoX-Fun-V1.5-5b-InP/
    /// and void_pass1.safetensors, as `void download` leaves it.
    #[arg(long, env = "VOID_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// The VOID Pass-1 checkpoint. Default: void_pass1.safetensors in the models folder (or
    /// beside the base model folder).
    #[arg(long, value_name = "FILE")]
    pub transformer: Option<PathBuf>,

    /// Denoising steps. The reference's README and notebook use 50; its command-line script
    /// hard-codes 30.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub steps: usize,

    /// Seed of the initial latents and the conditioning video's noise. Runs are reproducible
    /// for a seed, but do not equal the reference's numbers (torch's CUDA generator).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Classifier-free guidance scale (the reference's Pass 1 uses 1.0: no guidance).
    #[arg(long, default_value_t = 1.0, value_name = "SCALE")]
    pub guidance: f64,

    /// The negative prompt, used only with --guidance above 1.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub negative_prompt: String,

    /// Frames per temporal window (85 = 22 latent frames); longer clips are denoised in
    /// overlapping windows. Also the shortest clip length after padding.
    #[arg(long, default_value_t = 85, value_name = "FRAMES")]
    pub window_frames: usize,

    /// Frames by which temporal windows overlap (16 = 4 latent frames, cross-faded).
    #[arg(long, default_value_t = 16, value_name = "FRAMES")]
    pub stride_frames: usize,

    /// Standard deviation of the noise added to the conditioning video.
    #[arg(long, default_value_t = 0.0563, value_name = "SIGMA")]
    pub noise_aug: f64,

    /// Where to run. `auto`: the GPU when this is a CUDA build and one is there, else the CPU.
    #[arg(long, value_enum, default_value = "auto")]
    pub device: RemoveDevice,

    /// Weight and activation type. Default: bf16 on the GPU (as the reference), f32 on the CPU
    /// (candle has no bf16 matrix products there).
    #[arg(long, value_enum)]
    pub dtype: Option<DTypeArg>,

    /// Code the VAE in spatial tiles of HEIGHTxWIDTH pixels (or `auto`: 240x360) to bound
    /// memory at large sizes; changes the result slightly. Default: untiled, as the reference.
    #[arg(long, value_name = "HxW|auto")]
    pub vae_tile: Option<TileArg>,

    /// What stays in memory. `full`: T5, VAE and transformer loaded once for the whole run
    /// (fastest for batches). `offload`: each network is loaded when its stage starts and
    /// freed when it ends, so T5 is gone before the transformer arrives and the VAE is there
    /// only while it codes (peak = the largest stage, not the sum; reloads cost a few seconds
    /// per sequence from the page cache). `low`: offload, fp8 transformer weights and a tiled
    /// VAE.
    #[arg(long, value_enum, default_value = "full")]
    pub memory: MemoryMode,

    /// Redo sequences whose outputs exist.
    #[arg(long)]
    pub overwrite: bool,

    /// Write exactly what the reference writes: <seq>-fg=-1-0001.mp4 and its _tuple.mp4, every
    /// padded frame, 12 fps. Default: <seq>.mp4 trimmed to the input's frames, at its fps.
    #[arg(long)]
    pub reference_layout: bool,

    /// Also write <seq>_composite.mp4: the result resized to the input's native size (bilinear)
    /// with the original pixels kept wherever the quadmask says keep, blended over a feathered
    /// seam inside the keep region (nothing of the removed or affected regions comes back).
    #[arg(long)]
    pub composite: bool,

    /// Width in native pixels of the composite's seam.
    #[arg(long, default_value_t = 8, value_name = "PX")]
    pub feather: usize,

    /// x264 quality of the outputs in the default layout (0 best .. 51 worst; the reference
    /// writes 25).
    #[arg(long, default_value_t = 18, value_name = "CRF")]
    pub crf: u8,

    #[command(flatten)]
    pub prep: PrepArgs,
}

/// `--memory` of `void remove`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MemoryMode {
    /// Every network loaded once and kept.
    Full,
    /// Each network loaded for its stage and freed after it.
    Offload,
    /// `offload`, plus the transformer's weight matrices stored in fp8 (e4m3, bf16 compute;
    /// about 2% error per weight) and the VAE coded in 240x360 tiles unless --vae-tile says
    /// otherwise. Changes the result slightly.
    Low,
}

/// `--device` of `void remove`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RemoveDevice {
    /// The GPU if there is one (CUDA build), else the CPU.
    Auto,
    /// The CPU.
    Cpu,
    /// The first CUDA GPU.
    Cuda,
}

/// Options that decide how a sequence is turned into model inputs.
#[derive(Debug, Args)]
pub struct PrepArgs {
    /// Size frames are resized to, HEIGHTxWIDTH, both multiples of 16. The reference's
    /// torch "area" resize is used, without keeping the aspect ratio.
    #[arg(long, default_value = "384x672", value_name = "HxW")]
    pub sample_size: SampleSize,

    /// Frames beyond this many are dropped (rounded down to 4k+1, as the reference does).
    #[arg(long, default_value_t = void_prep::temporal::MAX_VIDEO_FRAMES, value_name = "FRAMES")]
    pub max_video_length: usize,

    /// Go on when the mask has a different number of frames than the video, padding the mask
    /// to the video's length. Without it such a sequence is refused, because the frames would
    /// not line up.
    #[arg(long)]
    pub allow_length_mismatch: bool,
}

/// `void inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Sequence folders, or data roots whose sequence folders are all inspected. Plain files
    /// are skipped with a note.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// In data roots, only these sequences: a comma list (`a,b,c`) or a part (`2/4`: the
    /// second quarter, in sorted order). Default: all.
    #[arg(long, default_value = "", value_name = "LIST")]
    pub seqs: Selection,

    /// Print JSON (one array of objects) instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub prep: PrepArgs,
}

/// `void preprocess`.
#[derive(Debug, Args)]
pub struct PreprocessArgs {
    /// The sequence folder.
    #[arg(value_name = "SEQ_DIR")]
    pub sequence: PathBuf,

    /// The safetensors file to write.
    #[arg(long, short, value_name = "FILE")]
    pub out: PathBuf,

    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub prep: PrepArgs,
}

impl PrepArgs {
    /// The library's options.
    pub fn options(&self) -> void_sequence::PrepOptions {
        void_sequence::PrepOptions {
            sample_size: self.sample_size,
            max_frames: self.max_video_length,
            allow_length_mismatch: self.allow_length_mismatch,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_download() {
        let cli = Cli::try_parse_from([
            "void",
            "download",
            "--dir",
            "m",
            "--no-pass2",
            "--revision",
            "v1",
            "--endpoint",
            "http://h",
        ])
        .unwrap();
        let Command::Download(args) = cli.command else {
            panic!("wrong subcommand")
        };
        assert_eq!(args.dir, Some(PathBuf::from("m")));
        assert!(args.no_pass2);
        assert_eq!(
            (args.revision.as_str(), args.void_revision.as_str()),
            ("v1", "main")
        );
        assert_eq!(args.endpoint, "http://h");
    }

    #[test]
    fn parses_tile_sizes() {
        assert_eq!("auto".parse::<TileArg>(), Ok(TileArg::Auto));
        assert_eq!("240x360".parse::<TileArg>(), Ok(TileArg::Size(240, 360)));
        for bad in ["240", "0x360", "axb", ""] {
            assert!(bad.parse::<TileArg>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_preprocess() {
        let cli = Cli::try_parse_from([
            "void",
            "preprocess",
            "seq",
            "--out",
            "x.safetensors",
            "--sample-size",
            "480x848",
        ])
        .unwrap();
        let Command::Preprocess(args) = cli.command else {
            panic!("wrong subcommand")
        };
        assert_eq!(
            args.prep.sample_size,
            SampleSize {
                height: 480,
                width: 848
            }
        );
        assert!(
            Cli::try_parse_from([
                "void",
                "preprocess",
                "seq",
                "--out",
                "x",
                "--sample-size",
                "10x10"
            ])
            .is_err()
        );
    }
}
