//! Tokenizer parity with transformers 4.57.1 and sentencepiece 0.2.1
//! (`scripts/golden/tokenizer_goldens.py`, fixtures in `tests/golden/`).
//!
//! Every text of `tokenizer_goldens.json` (the sample prompts, punctuation, digits, accents and
//! combining marks, full-width and other NFKC-changed characters, CJK, emoji, empty and blank
//! strings, tabs and newlines, `</s>` / `<pad>` / `<extra_id_N>` with and without spaces, a
//! text longer than 226 tokens...) must give exactly transformers' ids, unpadded and with
//! `padding="max_length", truncation=True` at every recorded `max_length` (226, the pipeline's,
//! and 8 and 1 for the truncation corner cases), for each tokenizer case: the folder as
//! `save_pretrained` writes it with `legacy` true and false, older folder layouts without
//! `added_tokens_decoder`, and a folder with only `tokenizer.json`. The bare sentencepiece
//! models must give the library's ids and pieces.

#![allow(clippy::unwrap_used)] // test helpers fail loudly by design

use std::path::{Path, PathBuf};

use serde_json::Value;
use void_tokenizer::{Error, LoadOptions, SentencePiece, T5Tokenizer};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn goldens() -> Value {
    let text = std::fs::read_to_string(golden_dir().join("tokenizer_goldens.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn texts(g: &Value) -> Vec<String> {
    g["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
        .collect()
}

/// A copy of golden folder `base` with `overrides` applied (name -> text, or null: delete), as
/// the golden script built it for transformers.
fn materialise(base: &str, overrides: &Value, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    for entry in std::fs::read_dir(golden_dir().join(base)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), into.join(entry.file_name())).unwrap();
    }
    for (name, content) in overrides.as_object().unwrap() {
        match content {
            Value::Null => {
                let _ = std::fs::remove_file(into.join(name));
            }
            Value::String(text) => std::fs::write(into.join(name), text).unwrap(),
            other => panic!("override {name}: {other}"),
        }
    }
}

/// Ours against theirs for one case; returns the mismatches as readable lines.
fn compare_case(case: &Value, texts: &[String], max_lengths: &[usize]) -> (usize, Vec<String>) {
    let name = case["name"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    materialise(
        case["base"].as_str().unwrap(),
        &case["overrides"],
        dir.path(),
    );
    let options = LoadOptions {
        legacy: case["kwargs"].get("legacy").and_then(Value::as_bool),
    };
    let tok =
        T5Tokenizer::from_dir_with(dir.path(), &options).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        tok.legacy(),
        case["legacy"].as_bool().unwrap(),
        "{name}: legacy"
    );
    assert_eq!(
        tok.len() as u64,
        case["len"].as_u64().unwrap(),
        "{name}: len"
    );
    assert_eq!(
        u64::from(tok.eos_id()),
        case["eos_token_id"].as_u64().unwrap()
    );
    let pad = u32::try_from(case["pad_token_id"].as_u64().unwrap()).unwrap();
    assert_eq!(tok.pad_id(), pad, "{name}: pad id");

    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let theirs = ids(&case["ids"][i]);
        let ours = tok.encode(text);
        checked += 1;
        if ours != theirs {
            mismatches.push(format!(
                "{name} {text:?}: ours {ours:?}\n  transformers {theirs:?}\n  tokens {:?}",
                tok.tokenize(text)
            ));
        }
        for &length in max_lengths {
            // [ids up to the trailing pads, number of trailing pads]
            let packed = &case[format!("padded_{length}")][i];
            let mut theirs = ids(&packed[0]);
            let pads = usize::try_from(packed[1].as_u64().unwrap()).unwrap();
            theirs.extend(std::iter::repeat_n(pad, pads));
            let ours = tok.encode_padded(text, length);
            checked += 1;
            if ours != theirs {
                mismatches.push(format!(
                    "{name} max_length {length} {text:?}: ours {ours:?}\n  transformers {theirs:?}"
                ));
            }
        }
    }
    (checked, mismatches)
}

#[test]
fn every_text_matches_transformers() {
    let g = goldens();
    let texts = texts(&g);
    assert!(texts.len() >= 40, "the fixtures promise at least 40 texts");
    let max_lengths: Vec<usize> = g["max_lengths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert!(max_lengths.contains(&226));
    let cases = g["tokenizers"].as_array().unwrap();
    assert!(cases.len() >= 5);
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for case in cases {
        let (n, bad) = compare_case(case, &texts, &max_lengths);
        checked += n;
        mismatches.extend(bad);
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} encodings differ from transformers:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "{checked} encodings of {} texts in {} tokenizer cases equal transformers'",
        texts.len(),
        cases.len()
    );
}

#[test]
fn sentencepiece_models_match_the_library() {
    let g = goldens();
    let texts = texts(&g);
    let mut mismatches = Vec::new();
    let cases = g["sentencepiece"].as_array().unwrap();
    assert!(cases.len() >= 3);
    for case in cases {
        let file = case["model"].as_str().unwrap();
        let sp = SentencePiece::load(golden_dir().join(file)).unwrap();
        for (i, text) in texts.iter().enumerate() {
            let theirs = ids(&case["ids"][i]);
            let ours = sp.encode(text);
            if ours != theirs {
                mismatches.push(format!("{file} {text:?}: ids {ours:?} vs {theirs:?}"));
            }
            let theirs: Vec<&str> = case["pieces"][i]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let ours = sp.encode_pieces(text);
            if ours != theirs {
                mismatches.push(format!("{file} {text:?}: pieces {ours:?} vs {theirs:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn the_json_case_really_has_no_spiece_model() {
    let dir = golden_dir().join("t5_json");
    assert!(dir.join("tokenizer.json").is_file());
    assert!(!dir.join("spiece.model").exists());
}

#[test]
fn the_pipeline_call_is_226_ids_ending_in_eos_then_pads() {
    let tok = T5Tokenizer::from_dir(golden_dir().join("t5")).unwrap();
    let prompt = "A lime falls on the table.";
    let unpadded = tok.encode(prompt);
    let padded = tok.encode_padded(prompt, 226);
    assert_eq!(padded.len(), 226);
    assert_eq!(&padded[..unpadded.len()], &unpadded[..]);
    assert_eq!(unpadded.last(), Some(&tok.eos_id()));
    assert!(
        padded[unpadded.len()..]
            .iter()
            .all(|&id| id == tok.pad_id())
    );
    // The negative prompt of Pass 2: `</s>` and 225 pads.
    let empty = tok.encode_padded("", 226);
    assert_eq!(empty[0], tok.eos_id());
    assert!(empty[1..].iter().all(|&id| id == tok.pad_id()));
}

fn copy_of_t5(dir: &Path) {
    materialise("t5", &Value::Object(Default::default()), dir);
}

#[test]
fn missing_folder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-tokenizer");
    let err = T5Tokenizer::from_dir(&missing).unwrap_err();
    assert!(matches!(err, Error::NoFolder { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-tokenizer"), "{err}");

    let err = T5Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, Error::NoModel { .. }), "{err:?}");
    assert!(err.to_string().contains("spiece.model"), "{err}");
}

#[test]
fn corrupt_spiece_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    copy_of_t5(dir.path());
    let model = dir.path().join("spiece.model");
    let bytes = std::fs::read(&model).unwrap();
    for broken in [
        &bytes[..bytes.len() / 2],
        b"this is not a model".as_slice(),
        &[],
    ] {
        std::fs::write(&model, broken).unwrap();
        let err = T5Tokenizer::from_dir(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&model.display().to_string()), "{message}");
    }
    // SentencePiece::load names the file too.
    let err = SentencePiece::load(&model).unwrap_err();
    assert!(err.to_string().contains("spiece.model"), "{err}");
}

#[test]
fn unsupported_and_invalid_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tokenizer.json"),
        r#"{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": []}"#,
    )
    .unwrap();
    let err = T5Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("tokenizer.json"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    copy_of_t5(dir.path());
    let config = dir.path().join("tokenizer_config.json");
    std::fs::write(&config, "{ not json").unwrap();
    let err = T5Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("tokenizer_config.json"), "{err}");

    // transformers refuses extra_ids that disagree with additional_special_tokens.
    std::fs::write(
        &config,
        r#"{"extra_ids": 3, "additional_special_tokens": ["<extra_id_0>", "<extra_id_1>"]}"#,
    )
    .unwrap();
    let err = T5Tokenizer::from_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("extra_ids"), "{err}");
}

/// T5TokenizerFast (recorded for comparison, not reproduced) appends `</s>` even when the text
/// already ends with one; the slow tokenizer, which the pipeline uses and void follows, does
/// not. Those must be the only texts where they differ.
#[test]
fn fast_tokenizer_differs_only_on_a_trailing_eos() {
    let g = goldens();
    let tok =
        T5Tokenizer::from_dir(golden_dir().join(g["fast"]["base"].as_str().unwrap())).unwrap();
    let differs: Vec<&str> = g["fast"]["differs_from_slow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for (i, text) in texts(&g).iter().enumerate() {
        let fast = ids(&g["fast"]["ids"][i]);
        let ours = tok.encode(text);
        if differs.contains(&text.as_str()) {
            assert_ne!(ours, fast, "{text:?}");
            assert_eq!(ours.last(), Some(&tok.eos_id()));
            assert_eq!(
                &fast[..fast.len() - 1],
                &ours[..],
                "{text:?}: fast adds one more </s>"
            );
        } else {
            assert_eq!(ours, fast, "{text:?}");
        }
    }
}
