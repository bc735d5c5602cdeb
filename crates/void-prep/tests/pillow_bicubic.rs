//! The bicubic resize against Pillow's own output (`scripts/golden/pillow_goldens.py`):
//! byte-exact, downsampling (antialiased), upsampling and mixed.

#![allow(clippy::unwrap_used)]

use void_prep::bicubic::resize_bicubic;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn matches_pillow_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/pillow_bicubic.json"
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for case in golden["cases"].as_array().unwrap() {
        let n = |k: &str| case[k].as_u64().unwrap() as usize;
        let (w, h, ow, oh) = (n("w"), n("h"), n("out_w"), n("out_h"));
        let ours = resize_bicubic(&hex(case["input"].as_str().unwrap()), w, h, 3, ow, oh);
        let theirs = hex(case["output"].as_str().unwrap());
        let differing = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
        assert_eq!(
            differing, 0,
            "{w}x{h} -> {ow}x{oh}: {differing} bytes differ"
        );
    }
}
