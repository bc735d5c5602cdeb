//! Shared by the integration tests: where the VOID sample sequences are.

use std::path::PathBuf;

/// `$VOID_SAMPLES`, else `shared/samples` beside the repository. Panics with instructions if
/// absent: the parity tests must not pass by skipping.
pub fn samples_dir() -> PathBuf {
    let dir = std::env::var_os("VOID_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples")
        });
    assert!(
        dir.join("lime/input_video.mp4").is_file(),
        "VOID sample sequences not found at {}; set VOID_SAMPLES to the folder holding lime/, pillow/, ...",
        dir.display()
    );
    dir
}
