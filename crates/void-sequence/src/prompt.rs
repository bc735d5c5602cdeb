//! `prompt.json`: `{"bg": "<the scene after removal>"}`.

use std::path::Path;

use crate::{Error, Result};

/// Reads the background prompt (`bg`) of a `prompt.json`.
///
/// # Errors
/// [`Error::Prompt`] if the file is missing, not JSON, not an object, lacks a string `bg`, or
/// `bg` is blank.
pub fn read_prompt(path: &Path) -> Result<String> {
    let fail = |reason: String| Error::Prompt {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format!("cannot read the prompt file: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    let bg = value
        .as_object()
        .ok_or_else(|| {
            fail(r#"expected an object like {"bg": "a video of an empty table"}"#.into())
        })?
        .get("bg")
        .ok_or_else(|| fail(r#"no "bg" key; it must describe the scene after removal"#.into()))?;
    let bg = bg
        .as_str()
        .ok_or_else(|| fail(format!(r#""bg" must be a string, found {bg}"#)))?;
    if bg.trim().is_empty() {
        return Err(fail(
            r#""bg" is empty; it must describe the scene after removal"#.into(),
        ));
    }
    Ok(bg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt_of(text: &str) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prompt.json");
        std::fs::write(&path, text).unwrap();
        read_prompt(&path)
    }

    #[test]
    fn reads_bg() {
        assert_eq!(
            prompt_of(r#"{"bg": "A lime falls on the table."}"#).unwrap(),
            "A lime falls on the table."
        );
    }

    #[test]
    fn refuses_bad_prompts_naming_the_file() {
        for (text, words) in [
            ("{", "not valid JSON"),
            ("[1]", "expected an object"),
            (r#"{"fg": "x"}"#, r#"no "bg" key"#),
            (r#"{"bg": 3}"#, "must be a string"),
            (r#"{"bg": "  "}"#, "is empty"),
        ] {
            let err = prompt_of(text).unwrap_err().to_string();
            assert!(
                err.contains("prompt.json") && err.contains(words),
                "{text}: {err}"
            );
        }
        let err = read_prompt(Path::new("/nonexistent/prompt.json"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
    }
}
