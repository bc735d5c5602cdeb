//! Loading the embedded fat binaries: one module per kernel file and CUDA device, loaded on
//! first use and kept for the life of the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaModule};
use candle_core::cuda_backend::cudarc::nvrtc::Ptx;
use candle_core::cuda_backend::{CudaDevice, DeviceId};
use candle_core::{Error, Result};

type Loaded = HashMap<(DeviceId, &'static str), Arc<CudaModule>>;

static MODULES: Mutex<Option<Loaded>> = Mutex::new(None);

/// The function `function` of the fat binary `image` (named `module`) on `device`.
pub fn function(
    device: &CudaDevice,
    module: &'static str,
    image: &'static [u8],
    function: &str,
) -> Result<CudaFunction> {
    let mut loaded = MODULES
        .lock()
        .map_err(|_| Error::Msg("kernel cache poisoned".into()))?;
    let loaded = loaded.get_or_insert_with(HashMap::new);
    let key = (device.id(), module);
    let m = match loaded.get(&key) {
        Some(m) => m.clone(),
        None => {
            let m = device
                .cuda_stream()
                .context()
                .load_module(Ptx::from_binary(image.to_vec()))
                .map_err(|e| Error::Cuda(format!("loading kernel module {module}: {e}").into()))?;
            loaded.insert(key, m.clone());
            m
        }
    };
    m.load_function(function)
        .map_err(|e| Error::Cuda(format!("kernel {function} in {module}: {e}").into()))
}
